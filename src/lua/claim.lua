--[[
  Takes up to `count` new entries from the given queues through the consumer group, visiting the queues in
  the order given (the client rotates it for fairness) and each queue's streams (its priority levels)
  highest first. Each queue's controls are checked here too (includes/queue-gate.lua): a paused or held
  queue gives nothing, a capped or rate-limited one no more than it may start less what others claimed
  and have not started. Tasks are started by start.lua, whose keys the client can name once it knows the
  task ids (and which checks the controls again); an entry claimed here and never started (its client
  died) is found idle in the group's pending list by recovery.

  Before claiming, it looks for delayed tasks that are due (Redis clock): those are returned first, for the
  client to promote (promote.lua needs their task hashes among its keys) before it claims again.

  KEYS[1] wake stream
  KEYS[2] controls hash
  KEYS[3] levels set (the priority levels in use: the caller's list of them must be whole)
  then per queue: its delayed set, its rate set, then its ready streams (highest level first)
  ARGV[1] consumer group name
  ARGV[2] consumer name
  ARGV[3] count
  ARGV[4] number of queues
  ARGV[5] how many members of the levels set the caller knows (its streams of each queue follow from them)
  then per queue: its name, the number of its ready streams

  Returns {3} when the levels set has more members than the caller knows (a level used for the first time:
          the caller reads it again and claims again, so a new higher level is never passed over),
          {1, streamIndex, entryId, taskId, ...} when entries were claimed (streamIndex counts every queue's
          streams from 1, in the order given),
          {2, queueIndex, taskId, ...} when delayed tasks are due, or
          {0, lastId per stream ..., wakeId, nextDue, now, then per queue: heldUntil, reason, waiting}: the
          last generated id of each ready stream and of the wake stream, to block on with XREAD from there,
          the earliest due time of a delayed task in ms (-1 when none), the Redis time, and per queue
          heldUntil -1 when its controls let it claim, else the Redis time it may claim again (0 when only a
          finish, a resume or another reader's start or give-back frees it); for a held queue, reason
          ('paused', 'hold', 'concurrency', 'rate') and waiting, its entries no reader got yet (the starts
          its controls hold back), else '' and 0.
]]
--@include claim-queues
--@include queue-gate
--@include claimable
--@include redis-now

local group, consumer = ARGV[1], ARGV[2]
local wanted, nq = tonumber(ARGV[3]), tonumber(ARGV[4])
local wakeKey, controlsKey = KEYS[1], KEYS[2]
if redis.call('SCARD', KEYS[3]) ~= tonumber(ARGV[5]) then return { 3 } end
local now = redis_now()

local queues, k, base = {}, 4, 1
for i = 1, nq do
  local name, ns = ARGV[4 + 2 * i], tonumber(ARGV[5 + 2 * i])
  local streams = {}
  for s = 1, ns do streams[s] = KEYS[k + 1 + s] end
  queues[i] = { name = name, delayed = KEYS[k], rate = KEYS[k + 1], streams = streams, base = base, exists = {} }
  k, base = k + 2 + ns, base + ns
end

local due = { 2 }
for i, q in ipairs(queues) do
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', q.delayed, '-inf', now, 'LIMIT', 0, wanted)) do
    due[#due + 1] = i
    due[#due + 1] = id
  end
end
if #due > 1 then return due end

local gates = {}
for i, q in ipairs(queues) do gates[i] = queue_gate(controlsKey, q.rate, q.name, now) end
local claimed = claim_queues(queues, gates, group, consumer, wanted)
if #claimed > 0 then
  table.insert(claimed, 1, 1)
  return claimed
end
local function last_id(key)
  if redis.call('EXISTS', key) == 0 then return '0-0' end
  local info = redis.call('XINFO', 'STREAM', key)
  for j = 1, #info, 2 do
    if info[j] == 'last-generated-id' then return info[j + 1] end
  end
  return '0-0'
end
local last = { 0 }
for _, q in ipairs(queues) do
  for _, key in ipairs(q.streams) do last[#last + 1] = last_id(key) end
end
last[#last + 1] = last_id(wakeKey)
local nextDue = -1
for _, q in ipairs(queues) do
  local first = redis.call('ZRANGE', q.delayed, 0, 0, 'WITHSCORES')
  if first[2] and (nextDue < 0 or tonumber(first[2]) < nextDue) then nextDue = tonumber(first[2]) end
end
last[#last + 1] = nextDue
last[#last + 1] = now
-- Entries of a stream the group has not delivered: its lag, or when Redis cannot tell (after an XDEL) the
-- stream's length less what is pending.
local function undelivered(key)
  if redis.call('EXISTS', key) == 0 then return 0 end
  for _, info in ipairs(redis.call('XINFO', 'GROUPS', key)) do
    local name, lag
    for j = 1, #info, 2 do
      if info[j] == 'name' then name = info[j + 1] elseif info[j] == 'lag' then lag = info[j + 1] end
    end
    if name == group then
      if type(lag) == 'number' then return lag end
      return math.max(0, redis.call('XLEN', key) - redis.call('XPENDING', key, group)[1])
    end
  end
  return 0
end
for i, q in ipairs(queues) do
  local g = gates[i]
  if claimable(g, q.streams, group) > 0 then
    last[#last + 1] = -1
    last[#last + 1] = ''
    last[#last + 1] = 0
  else
    local waiting = 0
    for _, key in ipairs(q.streams) do waiting = waiting + undelivered(key) end
    last[#last + 1] = g.untilMs or 0
    last[#last + 1] = g.reason or 'concurrency'
    last[#last + 1] = waiting
  end
end
return last
