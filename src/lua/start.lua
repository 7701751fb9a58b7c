--[[
  Starts claimed tasks: for each, the ready entry is acknowledged and removed, and if the task is still
  waiting for exactly that entry it becomes running with attempt + 1 (a `started` event) and a heartbeat
  deadline in the running set. An entry that no longer matches (the task was cancelled, deleted or
  re-queued meanwhile) is only removed: no task ever starts twice from one entry.

  The started event's id becomes the task's lease: the holder's fencing token.

  In the same call it can finish tasks first (what finish.lua does, each checked on its own), and claim the
  next entries (a worker's prefetch) from ready streams declared last, so that a busy worker needs one
  round trip per batch: its finished tasks out, the next tasks in.

  KEYS[1] events stream
  KEYS[2] running set
  KEYS[3] counts hash
  then one task hash per task to finish
  then for each task to start: task hash, ready stream
  then the ready streams to claim from (visiting order)

  ARGV[1] consumer group name
  ARGV[2] heartbeat TTL in ms
  ARGV[3] number of tasks to start
  ARGV[4] consumer name
  ARGV[5] how many entries to claim for next time (0 for none)
  ARGV[6] number of tasks to finish
  then for each task to finish (4 values, as finish.lua): task id, lease held (or ''), '1' when progress
    follows (else '0'), progress (JSON)
  then for each task to start: task id, entry id

  Returns {starts, claims, finishes}: starts has, per task, {hash before, started event id, attempt} (the
  hash as a flat field/value list; the caller folds the `started` event into it) or 0 when it was not
  started; claims is {streamIndex, entryId, taskId, ...} (streamIndex from 1); finishes has OK or a status
  code per task to finish.
]]
--@include codes
--@include fold
--@include emit
--@include check
--@include count
--@include end-task
--@include ready
--@include claim-entries

local group, ttl, n, consumer, prefetch = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
local nf = tonumber(ARGV[6])
local finishes = end_tasks(KEYS[1], KEYS[2], KEYS[3], 4, 3 + nf, 6, 'finished')
-- Where the tasks to start begin, in KEYS and in ARGV (each takes two of both).
local k0, a0 = 3 + nf, 6 + 4 * nf
-- The entries go first, all of one stream in one step: XACK takes many ids, and a call per id costs more.
local byStream, order = {}, {}
for i = 1, n do
  local readyKey = KEYS[k0 + 2 * i]
  local ids = byStream[readyKey]
  if not ids then
    ids = {}
    byStream[readyKey] = ids
    order[#order + 1] = readyKey
  end
  ids[#ids + 1] = ARGV[a0 + 2 * i]
end
for _, readyKey in ipairs(order) do drop_started(readyKey, group, byStream[readyKey]) end
local starts, deadlines = {}, {}
for i = 1, n do
  local taskKey = KEYS[k0 - 1 + 2 * i]
  local taskId, entryId = ARGV[a0 - 1 + 2 * i], ARGV[a0 + 2 * i]
  -- One read serves the check and the reply: the client folds the started event into it (the same fold).
  local hash = redis.call('HGETALL', taskKey)
  local status, readyId, attempt, events
  for j = 1, #hash, 2 do
    local f = hash[j]
    if f == 'status' then status = hash[j + 1]
    elseif f == 'readyId' then readyId = hash[j + 1]
    elseif f == 'attempt' then attempt = hash[j + 1]
    elseif f == 'events' then events = hash[j + 1] end
  end
  if status == 'waiting' and readyId == entryId then
    local next = tostring(tonumber(attempt) + 1)
    local id, at = emit(KEYS[1], taskKey, taskId, 'started', { 'attempt', next }, events or false)
    deadlines[#deadlines + 1] = tonumber(at) + ttl
    deadlines[#deadlines + 1] = taskId
    starts[i] = { hash, id, next }
  else
    starts[i] = 0
  end
end
-- Heartbeat deadlines of all started tasks in one write.
if #deadlines > 0 then redis.call('ZADD', KEYS[2], unpack(deadlines)) end
return { starts, claim_entries(k0 + 1 + 2 * n, #KEYS, group, consumer, prefetch), finishes }
