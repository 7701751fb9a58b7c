--[[
  Starts claimed tasks: for each, the ready entry is acknowledged and removed, and if the task is still
  waiting for exactly that entry it becomes running with attempt + 1 (a `started` event) and a heartbeat
  deadline in the running set. An entry that no longer matches (the task was cancelled, deleted or
  re-queued meanwhile) is only removed: no task ever starts twice from one entry.

  The started event's id becomes the task's lease: the holder's fencing token.

  It can also claim the next entries in the same call (a worker's prefetch), from ready streams declared
  after the tasks' keys, so that a busy worker needs one round trip per batch, not two.

  KEYS[1] events stream
  KEYS[2] running set
  then for each task: task hash, ready stream
  then the ready streams to claim from (visiting order)

  ARGV[1] consumer group name
  ARGV[2] heartbeat TTL in ms
  ARGV[3] number of tasks
  ARGV[4] consumer name
  ARGV[5] how many entries to claim for next time (0 for none)
  then for each task: task id, entry id

  Returns {starts, claims}: starts has, per task, the started task's hash as a flat field/value list or 0
  when it was not started; claims is {streamIndex, entryId, taskId, ...} (streamIndex from 1).
]]
--@include codes
--@include fold
--@include emit
--@include ready
--@include claim-entries

local group, ttl, n, consumer, prefetch = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
-- The entries go first, all of one stream in one step: XACK takes many ids, and a call per id costs more.
local byStream, order = {}, {}
for i = 1, n do
  local readyKey = KEYS[2 + 2 * i]
  local ids = byStream[readyKey]
  if not ids then
    ids = {}
    byStream[readyKey] = ids
    order[#order + 1] = readyKey
  end
  ids[#ids + 1] = ARGV[5 + 2 * i]
end
for _, readyKey in ipairs(order) do drop_started(readyKey, group, byStream[readyKey]) end
local starts = {}
for i = 1, n do
  local taskKey = KEYS[1 + 2 * i]
  local taskId, entryId = ARGV[4 + 2 * i], ARGV[5 + 2 * i]
  local state = redis.call('HMGET', taskKey, 'status', 'readyId', 'attempt', 'events')
  if state[1] == 'waiting' and state[2] == entryId then
    local _, at = emit(KEYS[1], taskKey, taskId, 'started', { 'attempt', tostring(tonumber(state[3]) + 1) }, state[4])
    redis.call('ZADD', KEYS[2], tonumber(at) + ttl, taskId)
    starts[i] = redis.call('HGETALL', taskKey)
  else
    starts[i] = 0
  end
end
return { starts, claim_entries(3 + 2 * n, #KEYS, group, consumer, prefetch) }
