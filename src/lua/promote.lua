--[[
  Moves due delayed tasks to their queue's ready stream for their priority level: for each, a `promoted`
  event with its new ready entry. Only the caller whose ZREM removes the task promotes it, so concurrent
  promoters never double it. The caller does not know the tasks' priorities (a claim found them by due
  time), so each queue's streams of every level are declared and the script picks the task's.

  KEYS[1] events stream
  then for each queue: its delayed set, then its ready streams of levels 0 to MAX_PRIORITY
  then for each task: its hash

  ARGV[1] consumer group name
  ARGV[2] number of queues
  then for each task: its id, the place of its queue among the queues (from 1)

  Returns the number of tasks promoted.
]]
--@include codes
--@include push-ready
--@include emit

local group, nq = ARGV[1], tonumber(ARGV[2])
local width = 2 + MAX_PRIORITY -- a delayed set and the streams of levels 0..MAX_PRIORITY
local promoted = 0
local t = 0
for a = 3, #ARGV, 2 do
  t = t + 1
  local taskId, q = ARGV[a], tonumber(ARGV[a + 1])
  local base = 1 + (q - 1) * width
  local taskKey = KEYS[1 + nq * width + t]
  local state = redis.call('HMGET', taskKey, 'status', 'priority')
  -- A priority that is not a level (a hash written by hand) counts as 0, so the task is not found due for ever.
  local p = tonumber(state[2] or '0')
  if not p or p < 0 or p > MAX_PRIORITY or p % 1 ~= 0 then p = 0 end
  if redis.call('ZREM', KEYS[base + 1], taskId) == 1 and state[1] == 'waiting' then
    emit(KEYS[1], taskKey, taskId, 'promoted', { 'readyId', push_ready(KEYS[base + 2 + p], group, taskId) })
    promoted = promoted + 1
  end
end
return promoted
