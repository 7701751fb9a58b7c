--[[
  Enqueues one or more tasks: for each, an `enqueued` event folded into a new task hash, membership in each
  reference set, and either an entry on its queue's ready stream or, when it is not due yet, a place in the
  queue's delayed set (promote.lua moves it to the ready stream when due). Ids are made by the client, so a
  retried call is idempotent: an id that already exists is left alone.

  KEYS[1] events stream
  KEYS[2] queues set
  KEYS[3] wake stream (blocked readers recompute their wait when a task is delayed)
  then for each task, in order:
    task hash, ready stream, delayed set, then one reference set per reference (count given in ARGV)

  ARGV[1] consumer group name
  ARGV[2] number of tasks
  then for each task (11 values): id, queue, type, spec (JSON), references (JSON), maxAttempts,
    delay in ms or '' (from the Redis clock), due time in ms or '' (absolute), backoff (JSON) or '',
    handler timeout in ms or '', then the number of reference sets

  Returns a list with, per task, 1 (created) or 0 (the id existed already).
]]
--@include codes
--@include fold
--@include emit
--@include ready
--@include enqueue-task

local group = ARGV[1]
local count = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local k, a = 4, 3
local delayed = false
local created = {}
local seen = { streams = {}, queues = {} }
for i = 1, count do
  local taskKey, readyKey, delayedKey = KEYS[k], KEYS[k + 1], KEYS[k + 2]
  local id, queue, ttype, spec, refs, maxAttempts = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5]
  local delay, runAt, backoff, timeout = ARGV[a + 6], ARGV[a + 7], ARGV[a + 8], ARGV[a + 9]
  local nrefs = tonumber(ARGV[a + 10])
  if redis.call('EXISTS', taskKey) == 1 then
    created[i] = 0
  else
    local due = nil
    if delay ~= '' then due = now + tonumber(delay) elseif runAt ~= '' then due = tonumber(runAt) end
    local fields = { 'queue', queue, 'type', ttype, 'spec', spec, 'references', refs, 'maxAttempts', maxAttempts }
    if backoff ~= '' then
      fields[#fields + 1] = 'backoff'
      fields[#fields + 1] = backoff
    end
    if timeout ~= '' then
      fields[#fields + 1] = 'timeoutMs'
      fields[#fields + 1] = timeout
    end
    local refKeys = {}
    for r = 1, nrefs do refKeys[r] = KEYS[k + 2 + r] end
    if enqueue_task(KEYS[1], KEYS[2], taskKey, readyKey, delayedKey, refKeys, group, id, queue, fields, due, now, seen, true) then
      delayed = true
    end
    created[i] = 1
  end
  k = k + 3 + nrefs
  a = a + 11
end
if delayed then wake_readers(KEYS[3]) end
return created
