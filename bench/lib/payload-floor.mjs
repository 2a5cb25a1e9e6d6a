// The floor the benches hold large messages against: Redis moving the bytes once.

/**
 * One SET of every chunk (a large envelope's, as chunksOf cuts it), then one GETDEL of each,
 * through the runtime's payload connection, each batch sent at once.
 */
export async function storeThenFetch(connection, key, chunks, ttlMs = 60_000) {
  await Promise.all(chunks.map((chunk, n) => connection.set(`${key}:${n}`, chunk, ttlMs)));
  await Promise.all(chunks.map((_, n) => connection.getdel(`${key}:${n}`)));
}
