--[[
  A running task whose handler failed goes back to waiting, due again after a backoff delay: a `retrying`
  event with the error, and a place in its queue's delayed set. Refused unless the task is running and
  held by the caller's lease. The queue's running count goes down (includes/leave-running.lua).

  KEYS[1] events stream
  KEYS[2] running set
  KEYS[3] task hash
  KEYS[4] delayed set of the task's queue
  KEYS[5] wake stream
  KEYS[6] controls hash

  ARGV[1] task id
  ARGV[2] lease the caller holds, or ''
  ARGV[3] delay in ms before the task is due again (from the Redis clock)
  ARGV[4] the error (JSON: message, code?, stack?)
  ARGV[5] progress (JSON) to record with it, or '' for none
  ARGV[6] the task's queue, as the client read it (checked, so KEYS[4] is the right set)

  Returns OK or a status code (includes/codes.lua). A task this lease put back already (a resend after a
  lost reply) is answered OK and not written again.
]]
--@include codes
--@include check-running
--@include wake-readers
--@include emit
--@include redis-now
--@include leave-running

local taskId, held = ARGV[1], ARGV[2]
local code = check_running(KEYS[3], held)
-- Put back already by this lease (a resend after a lost reply): see release-6.lua.
if code == NOT_RUNNING and held ~= '' and redis.call('HGET', KEYS[3], 'lease') == held then return OK end
if code ~= OK then return code end
if redis.call('HGET', KEYS[3], 'queue') ~= ARGV[6] then return QUEUE_CHANGED end
local runAt = redis_now() + tonumber(ARGV[3])
redis.call('ZREM', KEYS[2], taskId)
leave_running(KEYS[6], KEYS[5], ARGV[6], 1)
redis.call('ZADD', KEYS[4], runAt, taskId)
wake_readers(KEYS[5])
local fields = { 'failure', ARGV[4], 'runAt', string.format('%d', runAt) }
local n = 4
if ARGV[5] ~= '' then
  fields[5], fields[6], n = 'progress', ARGV[5], 6
end
if held == '' then
  fields[n + 1], fields[n + 2] = 'lease', ''
end
emit(KEYS[1], KEYS[3], taskId, 'retrying', fields)
return OK
