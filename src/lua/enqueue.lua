--[[
  Enqueues one or more tasks: for each, an `enqueued` event folded into a new task hash, an entry on its
  queue's ready stream and membership in each reference set. Ids are made by the client, so a retried
  call is idempotent: an id that already exists is left alone.

  KEYS[1] events stream
  KEYS[2] queues set
  then for each task, in order:
    task hash, ready stream, then one reference set per reference (count given in ARGV)

  ARGV[1] consumer group name
  ARGV[2] number of tasks
  then for each task: id, queue, type, spec (JSON), references (JSON), maxAttempts, number of reference sets

  Returns a list with, per task, 1 (created) or 0 (the id existed already).
]]
--@include codes
--@include fold
--@include emit
--@include ready

local group = ARGV[1]
local count = tonumber(ARGV[2])
local k, a = 3, 3
local created = {}
for i = 1, count do
  local taskKey, readyKey = KEYS[k], KEYS[k + 1]
  local id, queue, ttype, spec, refs, maxAttempts = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5]
  local nrefs = tonumber(ARGV[a + 6])
  if redis.call('EXISTS', taskKey) == 1 then
    created[i] = 0
  else
    local readyId = push_ready(readyKey, group, id)
    redis.call('SADD', KEYS[2], queue)
    for r = 1, nrefs do
      redis.call('SADD', KEYS[k + 1 + r], id)
    end
    emit(KEYS[1], taskKey, id, 'enqueued', {
      'queue', queue, 'type', ttype, 'spec', spec, 'references', refs,
      'maxAttempts', maxAttempts, 'readyId', readyId })
    created[i] = 1
  end
  k = k + 2 + nrefs
  a = a + 7
end
return created
