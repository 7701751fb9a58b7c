--[[
  Releases a running task: its holder gives it back to waiting (a worker shutting down, a dequeue whose
  caller is gone). A new ready entry goes to the tail of its queue and a `requeued` event (reason
  'released') records it. Refused unless the task is running and held by the caller's lease.

  KEYS[1] events stream
  KEYS[2] running set
  KEYS[3] task hash
  KEYS[4] ready stream of the task's queue

  ARGV[1] task id
  ARGV[2] consumer group name
  ARGV[3] lease the caller holds, or ''
  ARGV[4] the task's queue, as the client read it (checked, so KEYS[4] is the right stream)

  Returns OK or a status code (includes/codes.lua). A task this lease put back already (a resend after a
  lost reply) is answered OK and not written again.
]]
--@include codes
--@include check-running
--@include requeue-task

local taskId, group, held = ARGV[1], ARGV[2], ARGV[3]
local code = check_running(KEYS[3], held)
-- Put back already by this lease (a resend after a lost reply): only its holder's own release or retry
-- leaves a waiting task with the lease; a stall, a retry or an unfenced call clears it.
if code == NOT_RUNNING and held ~= '' and redis.call('HGET', KEYS[3], 'lease') == held then return OK end
if code ~= OK then
  -- Only a running task belongs in the running set; drop a stray entry (index hygiene, not task state).
  if code ~= LEASE_LOST then redis.call('ZREM', KEYS[2], taskId) end
  return code
end
if redis.call('HGET', KEYS[3], 'queue') ~= ARGV[4] then return QUEUE_CHANGED end
redis.call('ZREM', KEYS[2], taskId)
requeue_task(KEYS[1], KEYS[3], KEYS[4], group, taskId, 'released', held == '')
return OK
