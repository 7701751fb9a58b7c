--[[
  Deletes a task whatever its status (the seed's ON DELETE CASCADE): its ready entry, its place in the
  running or delayed set and in its reference sets go, and a `deleted` event drops its hash. The log keeps its history.

  KEYS[1] events stream
  KEYS[2] running set
  KEYS[3] task hash
  KEYS[4] ready stream of the task's queue and priority level
  KEYS[5] delayed set of the task's queue
  KEYS[6] ended index (includes/ended-member.lua: an ended task leaves it)
  KEYS[7] controls hash (a running task deleted lowers its queue's running count)
  KEYS[8] wake stream
  KEYS[9..] the task's reference sets

  ARGV[1] task id
  ARGV[2] consumer group name
  ARGV[3] the task's queue, as the client read it (checked, so KEYS[4] is the right stream)
  ARGV[4] the task's priority, as the client read it ('0' for none; checked too)

  Returns 1 when the task was deleted, 0 when it did not exist, QUEUE_CHANGED (includes/codes.lua) when it is
  no longer in ARGV[3]'s queue.
]]
--@include codes
--@include drop-ready
--@include emit
--@include leave-running
--@include unindex-ended

local taskId = ARGV[1]
local state = redis.call('HMGET', KEYS[3], 'status', 'readyId', 'queue', 'priority', 'finishedAt')
if not state[1] then return 0 end
if state[3] ~= ARGV[3] or (state[4] or '0') ~= ARGV[4] then return QUEUE_CHANGED end
if state[2] then drop_ready(KEYS[4], ARGV[2], state[2]) end
redis.call('ZREM', KEYS[2], taskId)
if state[1] == 'running' then leave_running(KEYS[7], KEYS[8], state[3], 1) end
redis.call('ZREM', KEYS[5], taskId)
unindex_ended(KEYS[6], state[1], state[3], state[5], taskId)
for i = 9, #KEYS do
  redis.call('SREM', KEYS[i], taskId)
end
emit(KEYS[1], KEYS[3], taskId, 'deleted', {})
return 1
