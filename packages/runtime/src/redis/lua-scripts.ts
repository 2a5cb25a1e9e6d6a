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
 * One agent's bundle for one collective. The agent whose bundle completes the set gets every
 * bundle back as the reply (no second trip); until then the reply is nil. The others get
 * the bundles pushed to their inboxes — or, for jobs with many agents, published once on the
 * job's shard channel (measured 15–35% faster at 4 and 8 agents for small collectives; see
 * PROTOCOL.md) when they total at most ARGV[6] bytes (-1: never; Lua would copy a large
 * payload into the message while Redis waits). A published message is numbered (KEYS[2])
 * and kept in a capped stream (KEYS[3], entry 0-<seq>), from which a subscriber that sees a
 * gap recovers.
 * The collective's hash is listed in the job's set of loose keys while it waits for bundles
 * (see JobKeys.loose), so that cleanup after a job that ended half-way finds it.
 * KEYS[1]: the collective's hash, KEYS[2]: channel sequence, KEYS[3]: channel log, KEYS[4]:
 * the job's loose keys, KEYS[5..]: the other agents' inboxes. ARGV: number of agents, ttl
 * ms, this agent's index, bundle, channel, most bytes to publish, log length. Message: u32 LE
 * seq | u32 LE agent that published it | u32 LE count | count × (u32 LE length | bundle).
 */
export const RENDEZVOUS_SCRIPT = `
redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])
local arrived = redis.call('HLEN', KEYS[1])
if arrived < tonumber(ARGV[1]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  if arrived == 1 then
    redis.call('SADD', KEYS[4], KEYS[1])
    redis.call('PEXPIRE', KEYS[4], ARGV[2])
  end
  return false
end
local bundles = redis.call('HVALS', KEYS[1])
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[4], KEYS[1])
local total = 0
for i = 1, #bundles do total = total + #bundles[i] end
if total > tonumber(ARGV[6]) then
  for i = 5, #KEYS do
    redis.call('RPUSH', KEYS[i], unpack(bundles))
    redis.call('PEXPIRE', KEYS[i], ARGV[2])
  end
  return bundles
end
local seq = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
local parts = { struct.pack('<I4I4I4', seq, tonumber(ARGV[3]), #bundles) }
for i = 1, #bundles do
  parts[#parts + 1] = struct.pack('<I4', #bundles[i])
  parts[#parts + 1] = bundles[i]
end
local message = table.concat(parts)
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[7], '0-' .. seq, 'm', message)
redis.call('PEXPIRE', KEYS[3], ARGV[2])
redis.call('SPUBLISH', ARGV[5], message)
return bundles
`;

/**
 * KEYS[1]: the job's loose keys, KEYS[2]: read counter, KEYS[3..]: the chunks of a stored
 * large envelope. ARGV: readers, ttl ms. Counts one more reader; the last one deletes the
 * counter and the chunks, and takes them off the loose keys.
 */
export const RELEASE_SCRIPT = `
local n = redis.call('INCR', KEYS[2])
if n >= tonumber(ARGV[1]) then
  local stored = { unpack(KEYS, 2) }
  redis.call('DEL', unpack(stored))
  redis.call('SREM', KEYS[1], unpack(stored))
else
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
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
