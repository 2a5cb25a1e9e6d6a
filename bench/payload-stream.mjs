// A large envelope from one agent to another through Redis, the writer and the reader in
// processes of their own (as agents on two hosts): streamed (the pointer first, the reader
// fetching each chunk once its writer has announced it: redis/large-envelopes.ts) against the
// way before it (every chunk stored, then the pointer, then every chunk fetched at once),
// alternating round by round. Also Redis' own SET + GET of the same bytes from one client
// (the runtime bench's floor for 8 MiB).
// Usage: npm run bench:stream [-- --quick]
import { spawn } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { fmtMicros, machineLine, median, redisUrl, requireFiles, root } from './lib/common.mjs';
import { storeThenFetch } from './lib/payload-floor.mjs';

const dist = `${root}/packages/runtime/dist/redis`;
requireFiles([`${dist}/large-envelopes.js`]);
const { LargeEnvelopes } = await import(`${dist}/large-envelopes.js`);
const { PayloadConnection } = await import(`${dist}/payload-connection.js`);
const { chunksOf, PAYLOAD_CHUNK_BYTES } = await import(`${dist}/payload-chunks.js`);

const MiB = 1024 * 1024;
const TTL = 60_000;
const [role, readerBase] = process.argv.slice(2);

/** The large envelopes of a job (keys from `base`) as agent `agent` sees them: its writes and its reads, on connections of their own. */
async function agentOf(agent, base) {
  const writes = await PayloadConnection.open(redisUrl, `bench:stream:${agent}`);
  const reads = await PayloadConnection.open(redisUrl, `bench:stream:${agent}:reads`);
  const large = new LargeEnvelopes({ writes, reads, loose: `${base}loose`, agent, ttlMs: TTL }, (a, id) => `${base}pl:${a}:${id}`);
  return { large, writes, reads, close: () => (writes.close(), reads.close()) };
}

const chunkKeys = (pointer) => Array.from({ length: pointer.c }, (_, i) => `${pointer.k}:${i}`);

if (role === 'reader') {
  // Takes each pointer from its inbox, fetches the envelope the way it says, and answers.
  const base = readerBase;
  const agent = await agentOf(1, base);
  const inbox = new Redis(redisUrl);
  for (;;) {
    const [, raw] = await inbox.blpop(`${base}inbox`, 0);
    const { mode, pointer } = JSON.parse(raw);
    if (mode === 'stop') break;
    const chunks = mode === 'streamed' ? await agent.large.fetch(pointer) : await Promise.all(chunkKeys(pointer).map((key) => agent.reads.getdel(key)));
    const bytes = chunks.flat().reduce((n, piece) => n + piece.length, 0);
    await inbox.rpush(`${base}done`, String(bytes));
  }
  inbox.disconnect();
  agent.close();
  process.exit(0);
}

const quick = process.argv.includes('--quick');
const rounds = quick ? 5 : 21;
const sizes = [4 * MiB, 8 * MiB];
const runBase = `bench:stream:${process.pid}:`;
const loadBefore = os.loadavg();
const reader = spawn(process.execPath, [fileURLToPath(import.meta.url), 'reader', runBase], { stdio: 'inherit' });
const redis = new Redis(redisUrl);
const writer = await agentOf(0, runBase);
let nextId = 0;

/** One envelope of `n` bytes from the writer to the reader; resolves with the ms it took. */
async function send(mode, n) {
  const body = Buffer.alloc(n, 7);
  const started = process.hrtime.bigint();
  if (mode === 'streamed') {
    const { pointer, stored } = writer.large.store([body], [1]);
    await redis.rpush(`${runBase}inbox`, JSON.stringify({ mode, pointer }));
    await stored;
  } else {
    const pointer = { k: `${runBase}old:${nextId++}`, r: 1, c: Math.ceil(n / PAYLOAD_CHUNK_BYTES) };
    // The pointer right behind the chunks on their connection, without waiting for their answers (as agents did).
    const sets = chunksOf([body], PAYLOAD_CHUNK_BYTES).map((chunk, i) => writer.writes.set(`${pointer.k}:${i}`, chunk, TTL));
    await Promise.all([...sets, writer.writes.push(`${runBase}inbox`, Buffer.from(JSON.stringify({ mode, pointer })), TTL)]);
  }
  const [, bytes] = await redis.blpop(`${runBase}done`, 0);
  if (Number(bytes) !== n) throw new Error(`the reader got ${bytes} bytes of ${n}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/** SET + GET of `n` bytes in chunks from one client, one after the other: Redis moving them once. */
async function setThenGet(n) {
  const body = Buffer.alloc(n, 7);
  const key = `${runBase}floor`;
  const started = process.hrtime.bigint();
  await storeThenFetch(writer.writes, key, chunksOf([body], PAYLOAD_CHUNK_BYTES), TTL);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

const rows = [];
try {
  for (const n of sizes) {
    const samples = { stored: [], streamed: [], floor: [] };
    await send('streamed', n); // warm both processes up
    for (let i = 0; i < rounds; i++) {
      samples.stored.push(await send('stored', n));
      samples.streamed.push(await send('streamed', n));
      samples.floor.push(await setThenGet(n));
    }
    rows.push({ n, stored: median(samples.stored), streamed: median(samples.streamed), floor: median(samples.floor) });
  }
} finally {
  await redis.rpush(`${runBase}inbox`, JSON.stringify({ mode: 'stop' }));
  await new Promise((resolve) => reader.once('exit', resolve));
  const left = await redis.keys(`${runBase}*`);
  if (left.length > 0) await redis.unlink(...left);
  redis.disconnect();
  writer.close();
}

console.log(machineLine(loadBefore, quick));
console.log(`median of ${rounds} alternating rounds; writer and reader in two processes, through one Redis\n`);
console.log('| envelope | stored, then fetched (before) | streamed | ratio | Redis SET + GET, one client | streamed vs SET + GET |');
console.log('|---:|---:|---:|---:|---:|---:|');
for (const row of rows) {
  const ms = (v) => fmtMicros(v * 1000);
  console.log(`| ${row.n / MiB} MiB | ${ms(row.stored)} | ${ms(row.streamed)} | ${(row.streamed / row.stored).toFixed(2)}x | ${ms(row.floor)} | ${(row.streamed / row.floor).toFixed(2)}x |`);
}
