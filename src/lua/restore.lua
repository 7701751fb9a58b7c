--[[
  Rebuild of one task's projection from a fold of the log (src/projections/rebuild.ts). Writes the whole
  hash and its index entries in one step. If the task has moved on since the fold was read (its hash
  names a newer last event), the live projection is newer than the fold and is left alone.

  KEYS[1] events stream
  KEYS[2] running set
  KEYS[3] task hash
  KEYS[4] ready stream of the task's queue
  KEYS[5] delayed set of the task's queue
  KEYS[6] queues set (the task's queue is added back to it)
  KEYS[7] ended index (includes/ended-member.lua)
  KEYS[8..] reference sets to add the task to ('put') or remove it from ('absent')

  ARGV[1] task id
  ARGV[2] consumer group name
  ARGV[3] heartbeat TTL in ms (deadline of a running task = its last heartbeat + TTL)
  ARGV[4] id of the last folded event of this task ('0-0' when none)
  ARGV[5] 'put' (then ARGV[6..] are field/value pairs of the folded hash) or 'absent'

  Returns 1 when written, 0 when skipped because the live projection is newer.
]]
--@include drop-ready
--@include requeue-task
--@include newest-id
--@include redis-now
--@include unindex-ended
--@include member-of

local taskId, group, ttl, lastFolded, mode = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local live = redis.call('HMGET', KEYS[3], 'events', 'status', 'readyId', 'queue', 'finishedAt')
if live[1] then
  local liveLast = string.match(live[1], '(%S+)$')
  -- Newer than the last folded event (of equal ids, newest_id gives the first).
  if liveLast and string.match(liveLast, '^%d+-%d+$') and newest_id({ lastFolded, liveLast }, -1, -1) ~= lastFolded then return 0 end
end

-- The live hash's member goes; a fold that ended the task puts its own back below.
unindex_ended(KEYS[7], live[2], live[4], live[5], taskId)
if mode == 'absent' then
  if live[2] == 'waiting' and live[3] then drop_ready(KEYS[4], group, live[3]) end
  redis.call('ZREM', KEYS[2], taskId)
  redis.call('ZREM', KEYS[5], taskId)
  for i = 8, #KEYS do redis.call('SREM', KEYS[i], taskId) end
  redis.call('DEL', KEYS[3])
  return 1
end

redis.call('DEL', KEYS[3])
local fields = {}
for i = 6, #ARGV, 2 do fields[ARGV[i]] = ARGV[i + 1] end
redis.call('HSET', KEYS[3], unpack(ARGV, 6))
for i = 8, #KEYS do redis.call('SADD', KEYS[i], taskId) end
redis.call('SADD', KEYS[6], fields.queue)
-- An ended task is in the ended index, at when it ended; no other task is in it.
local member = member_of(fields.status, fields.queue, fields.finishedAt, taskId)
if member then redis.call('ZADD', KEYS[7], 0, member) end
if fields.status == 'running' then
  -- Heartbeats without progress are not in the log, so the last logged one may be long past: a deadline
  -- already set stays when later (GT), and a missing one counts from now, as a heartbeat would have.
  local deadline = tonumber(fields.heartbeatAt) + ttl
  if not redis.call('ZSCORE', KEYS[2], taskId) then deadline = math.max(deadline, redis_now() + ttl) end
  redis.call('ZADD', KEYS[2], 'GT', deadline, taskId)
else
  redis.call('ZREM', KEYS[2], taskId)
end
-- A task not yet due waits in the delayed set; any other task must not be there.
if fields.status == 'waiting' and fields.runAt then
  redis.call('ZADD', KEYS[5], tonumber(fields.runAt), taskId)
  return 1
end
redis.call('ZREM', KEYS[5], taskId)
-- A waiting task whose ready entry is gone could never be delivered: give it a new one.
if fields.status == 'waiting' then
  local rid = fields.readyId
  if not rid or #redis.call('XRANGE', KEYS[4], rid, rid) == 0 then
    requeue_task(KEYS[1], KEYS[3], KEYS[4], group, taskId, 'rebuild')
  end
end
return 1
