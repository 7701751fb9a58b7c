--[[
  Marks a running task failed (a `failed` event), optionally with final progress, and takes it out of the
  running set. Refused unless the task is running and held by the caller's attempt.

  KEYS[1] events stream
  KEYS[2] running set
  KEYS[3] task hash
  KEYS[4] counts hash

  ARGV[1] task id
  ARGV[2] lease the caller holds (its `started` event id), or '' when it holds none
  ARGV[3] '1' when ARGV[4] carries progress (JSON), else '0'
  ARGV[4] progress

  Returns OK or a status code (includes/codes.lua).
]]
--@include codes
--@include fold
--@include emit
--@include check
--@include count

local code = check_running(KEYS[3], ARGV[2])
if code ~= OK then return code end
-- The queue rides on the event, so the log alone tells throughput per queue.
local queue = redis.call('HGET', KEYS[3], 'queue')
local fields = { 'queue', queue }
if ARGV[3] == '1' then
  fields[3] = 'progress'
  fields[4] = ARGV[4]
end
emit(KEYS[1], KEYS[3], ARGV[1], 'failed', fields)
count_end(KEYS[4], 'failed', queue)
redis.call('ZREM', KEYS[2], ARGV[1])
return OK
