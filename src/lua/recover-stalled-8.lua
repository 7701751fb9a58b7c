--[[
  Recovers a stalled task: one still running whose heartbeat deadline (its score in the running set) has
  passed by the Redis clock. It goes back to waiting with a new ready entry at the tail of its queue (a
  `requeued` event, reason 'stalled'); one that has used all its attempts is failed instead, with the
  reason as its error. A task whose deadline moved after the caller read it is alive and left alone.

  KEYS[1] events stream
  KEYS[2] running set
  KEYS[3] task hash
  KEYS[4] ready stream of the task's queue and priority level
  KEYS[5] counts hash
  KEYS[6] ended index (includes/ended-member.lua: the task lists and retention read it)
  KEYS[7] controls hash (the queue's running count goes down: a stalled task held its slot until now)
  KEYS[8] wake stream

  ARGV[1] task id
  ARGV[2] consumer group name
  ARGV[3] the task's queue, as the client read it (checked, so KEYS[4] is the right stream)
  ARGV[4] the task's priority, as the client read it ('0' for none; checked too)

  Returns OK, 0 when there was nothing to do (not stalled), or a status code (includes/codes.lua). Fails
  with Redis' OOM error, having written nothing, when Redis is full: it refuses the heartbeats that would
  have kept the task, so a deadline passed then says nothing of its holder.
]]
--@include codes
--@include refuse-when-full
--@include check-running
--@include emit
--@include count-end
--@include requeue-task
--@include redis-now
--@include leave-running
--@include ended-member

local taskId, group = ARGV[1], ARGV[2]
refuse_when_full(KEYS[2])
local code = check_running(KEYS[3], '')
if code ~= OK then
  -- Only a running task belongs in the running set; drop a stray entry (index hygiene, not task state).
  redis.call('ZREM', KEYS[2], taskId)
  return code
end
local state = redis.call('HMGET', KEYS[3], 'attempt', 'maxAttempts', 'queue', 'priority')
if state[3] ~= ARGV[3] or (state[4] or '0') ~= ARGV[4] then
  return redis.error_reply('ERR task ' .. taskId .. ' queue mismatch')
end
local deadline = redis.call('ZSCORE', KEYS[2], taskId)
if deadline and tonumber(deadline) > redis_now() then return 0 end
redis.call('ZREM', KEYS[2], taskId)
leave_running(KEYS[7], KEYS[8], state[3], 1)
if tonumber(state[1]) >= tonumber(state[2]) then
  -- The error apart from the progress, which stays the handler's; `lease` '': no holder ended it, so the
  -- stalled holder's own fail is refused rather than taken for a resend (end-tasks.lua).
  local failure = '{"message":"stalled: no heartbeat before the deadline on attempt ' .. state[1] ..
    ' of ' .. state[2] .. '"}'
  local _, at = emit(KEYS[1], KEYS[3], taskId, 'failed', { 'queue', state[3], 'failure', failure, 'lease', '' })
  count_end(KEYS[5], 'failed', state[3])
  redis.call('ZADD', KEYS[6], 0, ended_member('failed', state[3], at, taskId))
  return OK
end
requeue_task(KEYS[1], KEYS[3], KEYS[4], group, taskId, 'stalled', true)
return OK
