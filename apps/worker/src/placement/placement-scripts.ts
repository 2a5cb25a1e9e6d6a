/**
 * The scheduler's Lua scripts. Placement is one script so that reading every worker's free
 * slots, choosing where a job goes and reserving all of its slots is one atomic step: no
 * worker ever holds part of a job's slots while waiting for the rest, so two large jobs
 * competing for the same slots cannot deadlock. Redis was chosen over a Postgres
 * transaction because the state (heartbeats, free slots, who waits) changes many times a
 * second and is rebuilt from heartbeats and leaders within seconds if Redis loses it; the
 * job records, which must not be lost, stay in Postgres. Times come from Redis's clock, so
 * workers' clocks may disagree.
 *
 * Order: first come, first served, with EASY backfill — a later job may start before the
 * job at the head of the line only if it does not delay it: it fits in the slots the head
 * does not need now, or it fits now and its time limit ends before the head's reservation
 * (the time at which running jobs' limits free enough slots for the head). A stream of small
 * jobs therefore never starves a large one.
 */

/** Shared helpers: the Redis clock, live workers, and slots used per worker. */
const COMMON = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Drops workers whose heartbeat is older than hb_ms, then allocations whose leader is gone
-- (nobody will release them). Returns capacity by worker and used slots by worker.
local function live_state(workers_key, hb_key, running_key, now, hb_ms)
  local dead = redis.call('ZRANGEBYSCORE', hb_key, '-inf', now - hb_ms)
  for _, w in ipairs(dead) do
    redis.call('HDEL', workers_key, w)
    redis.call('ZREM', hb_key, w)
  end
  -- A negative count is an exclusive worker: it runs one job at a time (its ranks' container
  -- is the job's sandbox), so any job on it leaves no slot free.
  local capacity, exclusive = {}, {}
  local flat = redis.call('HGETALL', workers_key)
  for i = 1, #flat, 2 do
    local slots = tonumber(flat[i + 1])
    if slots < 0 then exclusive[flat[i]] = true; slots = -slots end
    capacity[flat[i]] = slots
  end
  local used = {}
  local running = {}
  local entries = redis.call('HGETALL', running_key)
  for i = 1, #entries, 2 do
    local run = cjson.decode(entries[i + 1])
    if capacity[run.l] == nil then
      redis.call('HDEL', running_key, entries[i])
    else
      running[entries[i]] = run
      for _, part in ipairs(run.a) do
        used[part[1]] = (used[part[1]] or 0) + part[2]
      end
    end
  end
  for w in pairs(exclusive) do
    if (used[w] or 0) > 0 then used[w] = capacity[w] end
  end
  return capacity, used, running
end
`;

/**
 * Registers a worker's slots (or renews them). KEYS: workers, heartbeats, running, versions.
 * ARGV: worker id, slots (negative: an exclusive worker, one job at a time), the agent
 * protocol it speaks, then per job this worker leads: its id and its running entry as
 * PLACE_SCRIPT wrote it. A worker that stops heartbeating loses its slots at the next
 * placement; a job's entry that Redis lost (its data, a failover) is written again, so new
 * jobs are not placed on slots in use. Returns the number of entries written again.
 */
export const HEARTBEAT_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], now, ARGV[1])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[3])
local restored = 0
for i = 4, #ARGV, 2 do
  restored = restored + redis.call('HSETNX', KEYS[3], ARGV[i], ARGV[i + 1])
end
return restored
`;

/**
 * Tries to start a job. KEYS: workers, heartbeats, pending, pending-jobs, running, why,
 * versions, gone. ARGV: job id, np, time limit ms, place in line (submission ms), policy
 * ('pack'|'spread'), oversubscribe ('1'|'0'), leader worker id, heartbeat timeout ms, pending
 * staleness ms, tenant id ('' for none), the tenant's maxRunningRanks (0: no limit), the
 * leader's agent protocol. Only workers speaking the leader's protocol count: in a rolling
 * upgrade a job waits for enough of them rather than span old and new workers.
 *
 * Reply: {1, the job's running entry (JSON, as written), worker, slots, worker, slots, ...}
 * when placed (the slots are reserved), or {0, reason, slots needed, slots free, place in
 * line} when it must wait, or {2} when the job left the line for good (FORGET_SCRIPT).
 */
export const PLACE_SCRIPT = `${COMMON}
local job, np, timeout_ms, order = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if redis.call('ZSCORE', KEYS[8], job) then
  return {2}
end
local policy, over, leader = ARGV[5], ARGV[6] == '1', ARGV[7]
local hb_ms, stale_ms = tonumber(ARGV[8]), tonumber(ARGV[9])
local tenant, tenant_max = ARGV[10] or '', tonumber(ARGV[11] or '0')
local version = ARGV[12]
local now = now_ms()
local capacity, used, running = live_state(KEYS[1], KEYS[2], KEYS[5], now, hb_ms)

local existing = running[job]
if existing then
  if existing.l ~= leader then
    return {0, 'already running, led by ' .. existing.l, np, 0, 0}
  end
  local reply = {1}
  for _, part in ipairs(existing.a) do
    table.insert(reply, part[1]); table.insert(reply, part[2])
  end
  return reply
end

-- The workers this job may use: live, and speaking its leader's protocol. Another version's
-- slots are only counted, to say why a job waits.
local eligible, other_version = {}, 0
local versions = redis.call('HGETALL', KEYS[7])
for i = 1, #versions, 2 do
  local w, v = versions[i], versions[i + 1]
  if capacity[w] == nil then
    redis.call('HDEL', KEYS[7], w)
  elseif v == version then
    eligible[w] = capacity[w]
  end
end
for w, cap in pairs(capacity) do
  if eligible[w] == nil then other_version = other_version + cap end
end

-- Join (or stay in) the line; forget jobs nobody has asked about for a while (cancelled,
-- deleted, or their queue entry lost: the queue brings a live one back within a second).
redis.call('ZADD', KEYS[3], 'NX', order, job)
redis.call('HSET', KEYS[4], job, cjson.encode({n = np, t = timeout_ms, s = now, o = over and 1 or 0, tn = tenant, q = tenant_max}))
local line = redis.call('ZRANGE', KEYS[3], 0, -1)
local waiting = {}
for _, id in ipairs(line) do
  local raw = redis.call('HGET', KEYS[4], id)
  local info = raw and cjson.decode(raw)
  if info == nil or now - info.s > stale_ms then
    redis.call('ZREM', KEYS[3], id)
    redis.call('HDEL', KEYS[4], id)
    redis.call('HDEL', KEYS[6], id)
  else
    table.insert(waiting, {id = id, np = info.n, t = info.t, o = info.o == 1, tn = info.tn or '', q = info.q or 0})
  end
end

-- Ranks running per tenant, and whether a job would take its tenant past its quota.
local tenant_ranks = {}
for _, run in pairs(running) do
  if run.tn and run.tn ~= '' then tenant_ranks[run.tn] = (tenant_ranks[run.tn] or 0) + (run.r or 0) end
end
local function over_quota(tn, q, n)
  return q > 0 and (tenant_ranks[tn] or 0) + n > q
end

local total, free = 0, 0
local workers = {}
for w, cap in pairs(eligible) do
  local f = cap - (used[w] or 0)
  if f < 0 then f = 0 end
  total = total + cap
  free = free + f
  table.insert(workers, {id = w, free = f})
end
local function need_of(n, o)
  if o and n > total then return total end
  return n
end
local need = need_of(np, over)

local function wait(reason)
  local position = 0
  for i, entry in ipairs(waiting) do
    if entry.id == job then position = i - 1 end
  end
  if other_version > 0 then
    reason = reason .. ' (' .. other_version .. ' more slots are on workers of another version, an upgrade under way)'
  end
  redis.call('HSET', KEYS[6], job, cjson.encode({reason = reason, slotsNeeded = need, slotsFree = free}))
  return {0, reason, need, free, position}
end

if total == 0 then return wait('no live worker') end
if need > total then
  return wait('needs ' .. need .. ' slots; all live workers together have ' .. total .. ' (set oversubscribe to run anyway)')
end
if over_quota(tenant, tenant_max, np) then
  return wait('its tenant runs ' .. (tenant_ranks[tenant] or 0) .. ' of its ' .. tenant_max ..
    ' ranks (maxRunningRanks); waiting for some to end')
end

-- The head of the line: the first waiting job that can ever fit and whose tenant is under its quota.
local head
for _, entry in ipairs(waiting) do
  if need_of(entry.np, entry.o) <= total and not over_quota(entry.tn, entry.q, entry.np) then head = entry; break end
end

if head and head.id ~= job then
  local head_need = need_of(head.np, head.o)
  if head_need <= free then
    if need > free - head_need then
      return wait('waiting behind job ' .. head.id .. ' (first come, first served)')
    end
  else
    -- EASY backfill: when do running jobs' time limits free enough slots for the head?
    local ends = {}
    for _, run in pairs(running) do
      local n = 0
      for _, part in ipairs(run.a) do
        if eligible[part[1]] then n = n + part[2] end
      end
      table.insert(ends, {e = run.e, n = n})
    end
    table.sort(ends, function(a, b) return a.e < b.e end)
    local avail, shadow, extra = free, nil, 0
    for _, item in ipairs(ends) do
      avail = avail + item.n
      if avail >= head_need then shadow = item.e; extra = avail - head_need; break end
    end
    local ends_in_time = shadow ~= nil and now + timeout_ms <= shadow
    local fits_beside = need <= extra
    if need > free or not (ends_in_time or fits_beside) then
      return wait('waiting behind job ' .. head.id .. ' (first come, first served)')
    end
  end
end

if need > free then
  return wait('waiting for ' .. need .. ' free slots; ' .. free .. ' free now')
end

-- Choose the workers. pack: one worker if one fits (the fullest that does, then the
-- leader), else the emptiest first; spread: one slot at a time over every worker.
local alloc = {}
if policy == 'spread' then
  table.sort(workers, function(a, b)
    if a.free ~= b.free then return a.free > b.free end
    return a.id < b.id
  end)
  local left, given = need, {}
  while left > 0 do
    for _, w in ipairs(workers) do
      if left > 0 and (given[w.id] or 0) < w.free then
        given[w.id] = (given[w.id] or 0) + 1
        left = left - 1
      end
    end
  end
  for _, w in ipairs(workers) do
    if given[w.id] then table.insert(alloc, {w.id, given[w.id]}) end
  end
else
  local best
  for _, w in ipairs(workers) do
    if w.free >= need then
      if best == nil or w.free < best.free or (w.free == best.free and w.id == leader) then best = w end
    end
  end
  if best then
    alloc = {{best.id, need}}
  else
    table.sort(workers, function(a, b)
      if a.free ~= b.free then return a.free > b.free end
      if a.id == leader or b.id == leader then return a.id == leader end
      return a.id < b.id
    end)
    local left = need
    for _, w in ipairs(workers) do
      if left > 0 and w.free > 0 then
        local take = math.min(left, w.free)
        table.insert(alloc, {w.id, take})
        left = left - take
      end
    end
  end
end

local entry = cjson.encode({l = leader, e = now + timeout_ms, a = alloc, tn = tenant, r = np})
redis.call('HSET', KEYS[5], job, entry)
redis.call('ZREM', KEYS[3], job)
redis.call('HDEL', KEYS[4], job)
redis.call('HDEL', KEYS[6], job)
local reply = {1, entry}
for _, part in ipairs(alloc) do
  table.insert(reply, part[1]); table.insert(reply, part[2])
end
return reply
`;

/**
 * Gives a job's slots back. KEYS: running. ARGV: job id, leader (only the leader that placed
 * it may release it). Returns 1 if released.
 */
export const RELEASE_SCRIPT = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
if cjson.decode(raw).l ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
`;

/**
 * Whether a worker is live: its last heartbeat is within the timeout. KEYS: heartbeats.
 * ARGV: worker id, heartbeat timeout ms.
 */
export const IS_LIVE_SCRIPT = `
local seen = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not seen then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if now - tonumber(seen) > tonumber(ARGV[2]) then return 0 end
return 1
`;
