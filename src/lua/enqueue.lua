--[[
  Enqueues one or more tasks: for each, an `enqueued` event folded into a new task hash, membership in each
  reference set, and either an entry on its queue's ready stream or, when it is not due yet, a place in the
  queue's delayed set (promote.lua moves it to the ready stream when due). Ids are made by the client, so a
  retried call is idempotent: an id that already exists is left alone.

  KEYS[1] events stream
  KEYS[2] queues set
  KEYS[3] wake stream (blocked readers recompute their wait when a task is delayed)
  then for each distinct queue of the call, in the order of ARGV's queue names: ready stream, delayed set
  then for each task, in order: task hash, then one reference set per reference

  ARGV[1] consumer group name
  ARGV[2] number of tasks
  ARGV[3] number of distinct queues, then their names
  then for each task: id, queue (its index among the names, from 1), type, spec (JSON), maxAttempts,
    number of reference sets, number of options, then per option its name and value: references (JSON;
    '{}' when absent), delay (ms from the Redis clock), runAt (absolute ms), backoff (JSON), timeoutMs.
    Each task thus costs 7 values when it has no options (most do not), and a queue's keys come once.

  Returns a list with, per task, 1 (created) or 0 (the id existed already).
]]
--@include codes
--@include fold
--@include emit
--@include ready
--@include enqueue-task

local group = ARGV[1]
local count, nq = tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local k, a = 4 + 2 * nq, 4 + nq
local delayed = false
local created = {}
local seen = { streams = {}, queues = {} }
local NONE = {} -- the options of a task that has none (never written to)
for i = 1, count do
  local taskKey = KEYS[k]
  local id, q, ttype, spec, maxAttempts = ARGV[a], tonumber(ARGV[a + 1]), ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  local nrefs, nopts = tonumber(ARGV[a + 5]), tonumber(ARGV[a + 6])
  if redis.call('EXISTS', taskKey) == 1 then
    created[i] = 0
  else
    local opts = NONE
    if nopts > 0 then
      opts = {}
      for o = a + 7, a + 5 + 2 * nopts, 2 do opts[ARGV[o]] = ARGV[o + 1] end
    end
    local due = nil
    if opts.delay then due = now + tonumber(opts.delay) elseif opts.runAt then due = tonumber(opts.runAt) end
    local queue = ARGV[3 + q]
    local fields = { 'queue', queue, 'type', ttype, 'spec', spec, 'references', opts.references or '{}', 'maxAttempts', maxAttempts }
    if opts.backoff then
      fields[#fields + 1] = 'backoff'
      fields[#fields + 1] = opts.backoff
    end
    if opts.timeoutMs then
      fields[#fields + 1] = 'timeoutMs'
      fields[#fields + 1] = opts.timeoutMs
    end
    local refKeys = {}
    for r = 1, nrefs do refKeys[r] = KEYS[k + r] end
    if enqueue_task(KEYS[1], KEYS[2], taskKey, KEYS[2 + 2 * q], KEYS[3 + 2 * q], refKeys, group, id, queue, fields, due, now, seen, true) then
      delayed = true
    end
    created[i] = 1
  end
  k = k + 1 + nrefs
  a = a + 7 + 2 * nopts
end
if delayed then wake_readers(KEYS[3]) end
return created
