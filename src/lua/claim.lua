--[[
  Takes up to `count` new entries from the given ready streams through the consumer group, visiting the
  streams in the order given (the client rotates it for fairness). Tasks are started by start.lua, whose
  keys the client can name once it knows the task ids; an entry claimed here and never started (its client
  died) is found idle in the group's pending list by recovery.

  Before claiming, it looks for delayed tasks that are due (Redis clock): those are returned first, for the
  client to promote (promote.lua needs their task hashes among its keys) before it claims again.

  KEYS    the n ready streams in visiting order, then the n delayed sets of the same queues, then the
          wake stream
  ARGV[1] consumer group name
  ARGV[2] consumer name
  ARGV[3] count

  Returns {1, queueIndex, entryId, taskId, ...} when entries were claimed,
          {2, queueIndex, taskId, ...} when delayed tasks are due, or
          {0, lastId1, ..., lastIdN, wakeId, nextDue, now}: the last generated id of each ready stream and
          of the wake stream, to block on with XREAD from there, the earliest due time of a delayed task in
          ms (-1 when none) and the Redis time.
]]
--@include claim-entries
--@include redis-now

local group, consumer = ARGV[1], ARGV[2]
local wanted = tonumber(ARGV[3])
local n = (#KEYS - 1) / 2
local now = redis_now()

local due = { 2 }
for i = 1, n do
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[n + i], '-inf', now, 'LIMIT', 0, wanted)) do
    due[#due + 1] = i
    due[#due + 1] = id
  end
end
if #due > 1 then return due end

local claimed = claim_entries(1, n, group, consumer, wanted)
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
for i = 1, n do
  last[#last + 1] = last_id(KEYS[i])
end
last[#last + 1] = last_id(KEYS[#KEYS])
local nextDue = -1
for i = 1, n do
  local first = redis.call('ZRANGE', KEYS[n + i], 0, 0, 'WITHSCORES')
  if first[2] and (nextDue < 0 or tonumber(first[2]) < nextDue) then nextDue = tonumber(first[2]) end
end
last[#last + 1] = nextDue
last[#last + 1] = now
return last
