--[[
  Changes a waiting task's priority level (setPriority). A due task's ready entry leaves its old level's
  stream and a new one goes to the tail of the new level's; a delayed task only changes the field (its
  promotion reads it). A `reprioritized` event records the level, the new entry and who made the change.

  KEYS[1] events stream
  KEYS[2] task hash
  KEYS[3] ready stream of the task's queue at its current level
  KEYS[4] ready stream of the task's queue at the new level
  KEYS[5] levels set

  ARGV[1] task id
  ARGV[2] consumer group name
  ARGV[3] the task's queue, as the client read it
  ARGV[4] its priority, as the client read it ('0' for none; with the queue, checked: KEYS[3] is its stream)
  ARGV[5] the new priority
  ARGV[6] who: host:pid

  Returns OK; 0 when the task is at that priority already; or NOT_FOUND, RUNNING, CANCELLED, FINISHED,
  FAILED, QUEUE_CHANGED (includes/codes.lua).
]]
--@include codes
--@include drop-ready
--@include push-ready
--@include emit

local taskId, group, queue, was, want = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local state = redis.call('HMGET', KEYS[2], 'status', 'queue', 'priority', 'readyId')
if not state[1] then return NOT_FOUND end
if state[1] == 'running' then return RUNNING end
if state[1] ~= 'waiting' then return STATUS_CODE[state[1]] end
if state[2] ~= queue or (state[3] or '0') ~= was then return QUEUE_CHANGED end
if was == want then return 0 end
local fields = { 'priority', want, 'by', ARGV[6] }
if state[4] then
  drop_ready(KEYS[3], group, state[4])
  fields[5], fields[6] = 'readyId', push_ready(KEYS[4], group, taskId)
end
if want ~= '0' then redis.call('SADD', KEYS[5], want .. ':' .. queue) end
emit(KEYS[1], KEYS[2], taskId, 'reprioritized', fields)
return OK
