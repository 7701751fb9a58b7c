--[[
  Gives a failed or cancelled task another run (the command line's `retry`): it goes back to waiting with a
  new ready entry at the tail of its queue, recorded as a `requeued` event with reason 'retry'. Its attempt
  count is kept, so the next start is attempt + 1.

  KEYS[1] events stream
  KEYS[2] task hash
  KEYS[3] ready stream of the task's queue and priority level
  KEYS[4] ended index (the task leaves it: it is not ended any more)

  ARGV[1] task id
  ARGV[2] consumer group name
  ARGV[3] the task's queue, as the client read it (checked, so KEYS[3] is the right stream)
  ARGV[4] the task's priority, as the client read it ('0' for none; checked too)

  Returns OK; 0 when the task is waiting or running already; or NOT_FOUND / FINISHED / QUEUE_CHANGED
  (the task is no longer in ARGV[3]'s queue).
]]
--@include codes
--@include requeue-task
--@include unindex-ended

local state = redis.call('HMGET', KEYS[2], 'status', 'queue', 'priority', 'finishedAt')
if not state[1] then return NOT_FOUND end
if state[1] == 'waiting' or state[1] == 'running' then return 0 end
if state[1] == 'finished' then return FINISHED end
if state[2] ~= ARGV[3] or (state[3] or '0') ~= ARGV[4] then return QUEUE_CHANGED end
unindex_ended(KEYS[4], state[1], state[2], state[4], ARGV[1])
requeue_task(KEYS[1], KEYS[2], KEYS[3], ARGV[2], ARGV[1], 'retry', true)
return OK
