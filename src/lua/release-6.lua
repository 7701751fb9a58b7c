--[[
  Releases a running task: its holder gives it back to waiting (a worker shutting down, a dequeue whose
  caller is gone). A new ready entry goes to the tail of its queue's stream for its priority level and a
  `requeued` event (reason 'released') records it. Refused unless the task is running and held by the
  caller's lease. The queue's running count goes down (includes/leave-running.lua).

  With a hold (a handler's RateLimitedError), the reason is 'rate-limited', the event carries `attempt` = the
  attempt before this start (the start does not use up an attempt), and the queue starts nothing until Redis
  TIME + the hold (`hold:<queue>` in the controls hash; a later hold already there is kept).

  KEYS[1] events stream
  KEYS[2] running set
  KEYS[3] task hash
  KEYS[4] ready stream of the task's queue and priority level
  KEYS[5] controls hash
  KEYS[6] wake stream

  ARGV[1] task id
  ARGV[2] consumer group name
  ARGV[3] lease the caller holds, or ''
  ARGV[4] the task's queue, as the client read it (checked, so KEYS[4] is the right stream)
  ARGV[5] the task's priority, as the client read it ('0' for none; checked too)
  ARGV[6] hold in ms (0 for none)

  Returns OK or a status code (includes/codes.lua). A task this lease put back already (a resend after a
  lost reply) is answered OK and not written again.
]]
--@include codes
--@include check-running
--@include requeue-task
--@include same-place
--@include leave-running
--@include redis-now

local taskId, group, held, queue = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local holdMs = tonumber(ARGV[6])
local code = check_running(KEYS[3], held)
-- Put back already by this lease (a resend after a lost reply): only its holder's own release or retry
-- leaves a waiting task with the lease; a stall, a retry or an unfenced call clears it.
if code == NOT_RUNNING and held ~= '' and redis.call('HGET', KEYS[3], 'lease') == held then return OK end
if code ~= OK then
  -- Only a running task belongs in the running set; drop a stray entry (index hygiene, not task state).
  if code ~= LEASE_LOST then redis.call('ZREM', KEYS[2], taskId) end
  return code
end
if not same_place(KEYS[3], queue, ARGV[5]) then return QUEUE_CHANGED end
redis.call('ZREM', KEYS[2], taskId)
leave_running(KEYS[5], KEYS[6], queue, 1)
if holdMs > 0 then
  local attempt = tonumber(redis.call('HGET', KEYS[3], 'attempt'))
  local untilMs = redis_now() + holdMs
  local current = tonumber(redis.call('HGET', KEYS[5], 'hold:' .. queue) or '0')
  if untilMs > current then redis.call('HSET', KEYS[5], 'hold:' .. queue, untilMs) end
  requeue_task(KEYS[1], KEYS[3], KEYS[4], group, taskId, 'rate-limited', held == '', { 'attempt', tostring(math.max(0, attempt - 1)) })
else
  requeue_task(KEYS[1], KEYS[3], KEYS[4], group, taskId, 'released', held == '')
end
return OK
