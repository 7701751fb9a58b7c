--[[
  Moves due delayed tasks to their queue's ready stream: for each, a `promoted` event with its new ready
  entry. Only the caller whose ZREM removes the task promotes it, so concurrent promoters never double it.

  KEYS[1] events stream
  then for each task: task hash, delayed set of its queue, ready stream of its queue

  ARGV[1] consumer group name
  then the task ids, in the order of their keys

  Returns the number of tasks promoted.
]]
--@include push-ready
--@include emit

local group = ARGV[1]
local promoted = 0
for i = 2, #ARGV do
  local taskKey, delayedKey, readyKey = KEYS[3 * i - 4], KEYS[3 * i - 3], KEYS[3 * i - 2]
  local taskId = ARGV[i]
  if redis.call('ZREM', delayedKey, taskId) == 1 and redis.call('HGET', taskKey, 'status') == 'waiting' then
    emit(KEYS[1], taskKey, taskId, 'promoted', { 'readyId', push_ready(readyKey, group, taskId) })
    promoted = promoted + 1
  end
end
return promoted
