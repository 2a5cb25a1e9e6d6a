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
 * One agent's bundle for one collective. KEYS[1]: the collective's hash, KEYS[2..]: inboxes
 * of the other agents taking part. ARGV: number of agents, ttl ms, this agent's index, bundle.
 * The agent whose bundle completes the set gets every bundle back as the reply (no second
 * trip), and the others get them pushed to their inboxes; until then the reply is nil.
 */
export const RENDEZVOUS_SCRIPT = `
redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])
if redis.call('HLEN', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return false
end
local bundles = redis.call('HVALS', KEYS[1])
redis.call('DEL', KEYS[1])
for i = 2, #KEYS do
  redis.call('RPUSH', KEYS[i], unpack(bundles))
  redis.call('PEXPIRE', KEYS[i], ARGV[2])
end
return bundles
`;

/**
 * KEYS[1]: read counter, KEYS[2]: a stored large envelope. ARGV: readers, ttl ms. Counts one
 * more reader; the last one deletes both keys.
 */
export const RELEASE_SCRIPT = `
local n = redis.call('INCR', KEYS[1])
if n >= tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1], KEYS[2])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return n
`;

/**
 * An agent arrives at the job's start rendezvous. KEYS[1]: the set of arrived agents,
 * KEYS[2..]: the inbox of every agent of the job. ARGV: this agent's index, number of
 * agents, ttl ms, the 'r' envelope. The last to arrive pushes 'r' to every inbox (its own
 * too), so each agent learns in its inbox order that all are there. Returns how many arrived.
 */
export const ARRIVE_SCRIPT = `
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
local arrived = redis.call('SCARD', KEYS[1])
if arrived == tonumber(ARGV[2]) then
  for i = 2, #KEYS do
    redis.call('RPUSH', KEYS[i], ARGV[4])
    redis.call('PEXPIRE', KEYS[i], ARGV[3])
  end
end
return arrived
`;

/**
 * An agent leaves the job for good. KEYS[1]: the set of agents that left, KEYS[2]: its
 * heartbeat key (deleted in the same step, so a peer never sees it neither alive nor gone).
 * ARGV: this agent's index, number of agents, ttl ms. Returns 1 to the last agent to
 * leave: it deletes the job's keys (nobody else writes any more).
 */
export const LEAVE_SCRIPT = `
redis.call('DEL', KEYS[2])
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 1
end
return 0
`;
