--[[
  Cancels a task. A waiting task loses its ready entry (or its place in the delayed set) and is never
  delivered; a running task leaves the
  running set (and its queue's running count, freeing a slot), and its worker's next heartbeat, finish or
  fail is refused with CANCELLED. Cancelling a cancelled task changes nothing.

  KEYS[1] events stream
  KEYS[2] running set
  KEYS[3] task hash
  KEYS[4] ready stream of the task's queue and priority level
  KEYS[5] delayed set of the task's queue
  KEYS[6] counts hash
  KEYS[7] ended index (includes/ended-member.lua: the task lists and retention read it)
  KEYS[8] controls hash
  KEYS[9] wake stream

  ARGV[1] task id
  ARGV[2] consumer group name
  ARGV[3] the task's queue, as the client read it (checked, so KEYS[4] is the right stream)
  ARGV[4] the task's priority, as the client read it ('0' for none; checked too)

  Returns OK, 0 when the task was cancelled already, or a status code (includes/codes.lua).
]]
--@include codes
--@include drop-ready
--@include emit
--@include count-end
--@include leave-running
--@include ended-member

local state = redis.call('HMGET', KEYS[3], 'status', 'readyId', 'queue', 'priority')
local status = state[1]
if not status then return NOT_FOUND end
if status == 'cancelled' then return 0 end
if status == 'finished' or status == 'failed' then return STATUS_CODE[status] end
if state[3] ~= ARGV[3] or (state[4] or '0') ~= ARGV[4] then return QUEUE_CHANGED end
if status == 'waiting' then
  if state[2] then drop_ready(KEYS[4], ARGV[2], state[2]) end
  redis.call('ZREM', KEYS[5], ARGV[1])
end
redis.call('ZREM', KEYS[2], ARGV[1])
if status == 'running' then leave_running(KEYS[8], KEYS[9], state[3], 1) end
local _, at = emit(KEYS[1], KEYS[3], ARGV[1], 'cancelled', { 'queue', state[3] })
count_end(KEYS[6], 'cancelled', state[3])
redis.call('ZADD', KEYS[7], 0, ended_member('cancelled', state[3], at, ARGV[1]))
return OK
