--[[
  Starts claimed tasks: for each, the ready entry is acknowledged and removed, and if the task is still
  waiting for exactly that entry it becomes running with attempt + 1 (a `started` event) and a heartbeat
  deadline in the running set. An entry that no longer matches (the task was cancelled, deleted or
  re-queued meanwhile) is only removed: no task ever starts twice from one entry.

  KEYS[1] events stream
  KEYS[2] running set
  then for each task: task hash, ready stream

  ARGV[1] consumer group name
  ARGV[2] heartbeat TTL in ms
  then for each task: task id, entry id

  The started event's id becomes the task's lease: the holder's fencing token.

  Returns, per task, the started task's hash as a flat field/value list, or 0 when it was not started.
]]
--@include codes
--@include fold
--@include emit
--@include ready

local group = ARGV[1]
local ttl = tonumber(ARGV[2])
local out = {}
local n = (#ARGV - 2) / 2
for i = 1, n do
  local taskKey, readyKey = KEYS[1 + 2 * i], KEYS[2 + 2 * i]
  local taskId, entryId = ARGV[1 + 2 * i], ARGV[2 + 2 * i]
  drop_ready(readyKey, group, entryId)
  local state = redis.call('HMGET', taskKey, 'status', 'readyId', 'attempt')
  if state[1] == 'waiting' and state[2] == entryId then
    local _, at = emit(KEYS[1], taskKey, taskId, 'started', { 'attempt', tostring(tonumber(state[3]) + 1) })
    redis.call('ZADD', KEYS[2], tonumber(at) + ttl, taskId)
    out[i] = redis.call('HGETALL', taskKey)
  else
    out[i] = 0
  end
end
return out
