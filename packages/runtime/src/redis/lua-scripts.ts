/**
 * Server-side scripts. Each runs atomically in Redis, so a fan-out costs the caller one
 * round trip and the payload crosses the network once, whatever the number of inboxes.
 */

/** KEYS: inboxes. ARGV: ttl ms, envelope. Appends the envelope to every inbox. */
export const DELIVER_SCRIPT = `
for i = 1, #KEYS do
  redis.call('RPUSH', KEYS[i], ARGV[2])
  redis.call('PEXPIRE', KEYS[i], ARGV[1])
end
return #KEYS
`;

/**
 * KEYS[1]: barrier counter, KEYS[2..]: inboxes of the agents hosting the group.
 * ARGV: group size, ttl ms, how many arrivals this call brings, release envelope.
 * The arrival that completes the count deletes the counter and releases everyone.
 */
export const ARRIVE_SCRIPT = `
local n = redis.call('INCRBY', KEYS[1], ARGV[3])
if n >= tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
  for i = 2, #KEYS do
    redis.call('RPUSH', KEYS[i], ARGV[4])
    redis.call('PEXPIRE', KEYS[i], ARGV[2])
  end
  return 1
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 0
`;
