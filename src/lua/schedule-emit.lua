--[[
  One tick of a schedule: checks that the schedule still expects the run time the caller read, then in
  the same step advances it and enqueues the tick's task (or, for a skipped tick, only advances it). Two
  schedulers that both believe they lead read the same expected time; only the first call matches, so no
  tick is ever enqueued twice.

  KEYS[1] events stream
  KEYS[2] queues set
  KEYS[3] schedule hash
  KEYS[4] schedules sorted set
  KEYS[5] task hash (of the new task)
  KEYS[6] ready stream of the schedule's queue
  KEYS[7] delayed set of the schedule's queue (unused: ticks are due now; declared for enqueue_task)
  KEYS[8..] the task's reference sets

  ARGV[1] consumer group name
  ARGV[2] schedule id
  ARGV[3] the next run time (ms) the caller read: the tick it acts on
  ARGV[4] the tick to record on the task (ms), or '' to skip without enqueueing
  ARGV[5] the next run time after this one (ms)
  ARGV[6] new task id
  ARGV[7] the task's references (JSON, with scheduleId)
  ARGV[8] the task's maxAttempts

  Returns 1 when a task was enqueued, 2 when the tick was skipped, 0 when the schedule moved on already
  (or is gone), or when the run time read is not due yet by the Redis clock (it was changed meanwhile).
]]
--@include enqueue-task
--@include redis-now

local group, id, expected, tick, nextRun = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local s = redis.call('HMGET', KEYS[3], 'nextRunAt', 'queue', 'type', 'spec')
-- Moved on (or not due yet): keep the index in step with the hash, so a stale entry is not read again.
if s[1] ~= expected then
  if s[1] then redis.call('ZADD', KEYS[4], tonumber(s[1]), id) end
  return 0
end
if tonumber(expected) > redis_now() then
  redis.call('ZADD', KEYS[4], tonumber(expected), id)
  return 0
end
redis.call('HSET', KEYS[3], 'nextRunAt', nextRun)
redis.call('ZADD', KEYS[4], tonumber(nextRun), id)
if tick == '' then return 2 end
redis.call('HSET', KEYS[3], 'lastRunAt', tick)
local refKeys = {}
for i = 8, #KEYS do refKeys[#refKeys + 1] = KEYS[i] end
local fields = { 'queue', s[2], 'type', s[3], 'spec', s[4], 'references', ARGV[7], 'maxAttempts', ARGV[8], 'scheduledAt', tick }
enqueue_task(KEYS[1], KEYS[2], KEYS[5], KEYS[6], KEYS[7], refKeys, group, ARGV[6], s[2], fields, nil, 0, { streams = {}, queues = {} }, false)
return 1
