--[[
  Enqueues one or more tasks: for each, an `enqueued` event folded into a new task hash, membership in each
  reference set, and either an entry on its queue's ready stream or, when it is not due yet, a place in the
  queue's delayed set (promote.lua moves it to the ready stream when due). Ids are made by the client, so a
  retried call is idempotent: an id that already exists is left alone.

  KEYS[1] events stream
  KEYS[2] queues set
  KEYS[3] wake stream (blocked readers recompute their wait when a task is delayed)
  KEYS[4] levels set (`<priority>:<queue>` for each level above 0 in use)
  then for each distinct queue and priority level of the call, in the order of ARGV's queue names: ready
    stream (of that level), delayed set
  then for each task, in order: task hash, then one reference set per reference

  ARGV[1] consumer group name
  ARGV[2] number of tasks
  ARGV[3] number of distinct queues, then their names
  then for each task (ENQUEUE_TASK_WIDTH values): id, queue (its index among the names, from 1), type,
    spec (JSON), maxAttempts, number of reference sets, number of options; then per option its name and
    value: references (JSON; '{}' when absent), delay (ms from the Redis clock), runAt (absolute ms),
    backoff (JSON), timeoutMs, priority (1-9; absent for 0), floor (ms: the `enqueued` event sorts after it;
    a namespace of several partitions, §20). A task without options (most) thus costs ENQUEUE_TASK_WIDTH values, and a
    queue's keys and name come once. The layout is src/redis/protocols/enqueue.ts' (includes/enqueue-protocol.lua).

  Returns a list with, per task, 1 (created) or 0 (the id existed already).
]]
--@include enqueue-task
--@include wake-readers
--@include enqueue-protocol
--@include redis-now

local group = ARGV[ENQUEUE_ARG_GROUP]
local count, nq = tonumber(ARGV[ENQUEUE_ARG_TASK_COUNT]), tonumber(ARGV[ENQUEUE_ARG_QUEUE_COUNT])
local now = redis_now()
-- Where the first task begins: in KEYS its hash (then its reference sets), in ARGV its values at
-- a + ENQUEUE_TASK_<name> (then its options).
local k, a = ENQUEUE_KEYS + ENQUEUE_QUEUE_KEYS * nq + 1, ENQUEUE_HEADER + nq
local delayed = false
local created = {}
local seen = { streams = {}, queues = {}, levels = {} }
local NONE = {} -- the options of a task that has none (never written to)
for i = 1, count do
  local taskKey = KEYS[k]
  local id, q, ttype, spec, maxAttempts = ARGV[a + ENQUEUE_TASK_ID], tonumber(ARGV[a + ENQUEUE_TASK_QUEUE]), ARGV[a + ENQUEUE_TASK_TYPE], ARGV[a + ENQUEUE_TASK_SPEC], ARGV[a + ENQUEUE_TASK_MAX_ATTEMPTS]
  local nrefs, nopts = tonumber(ARGV[a + ENQUEUE_TASK_REFERENCE_COUNT]), tonumber(ARGV[a + ENQUEUE_TASK_OPTION_COUNT])
  if redis.call('EXISTS', taskKey) == 1 then
    created[i] = 0
  else
    local opts = NONE
    if nopts > 0 then
      opts = {}
      for o = a + ENQUEUE_TASK_WIDTH + 1, a + ENQUEUE_TASK_WIDTH + 2 * nopts, 2 do opts[ARGV[o]] = ARGV[o + 1] end
    end
    local due = nil
    if opts[ENQUEUE_OPTION_DELAY] then
      due = now + tonumber(opts[ENQUEUE_OPTION_DELAY])
    elseif opts[ENQUEUE_OPTION_RUN_AT] then
      due = tonumber(opts[ENQUEUE_OPTION_RUN_AT])
    end
    local queue = ARGV[ENQUEUE_HEADER + q]
    local fields = { 'queue', queue, 'type', ttype, 'spec', spec, 'references', opts[ENQUEUE_OPTION_REFERENCES] or '{}', 'maxAttempts', maxAttempts }
    if opts[ENQUEUE_OPTION_BACKOFF] then
      fields[#fields + 1] = 'backoff'
      fields[#fields + 1] = opts[ENQUEUE_OPTION_BACKOFF]
    end
    if opts[ENQUEUE_OPTION_TIMEOUT_MS] then
      fields[#fields + 1] = 'timeoutMs'
      fields[#fields + 1] = opts[ENQUEUE_OPTION_TIMEOUT_MS]
    end
    local priority = opts[ENQUEUE_OPTION_PRIORITY]
    if priority then
      fields[#fields + 1] = 'priority'
      fields[#fields + 1] = priority
      local level = priority .. ':' .. queue
      if not seen.levels[level] then
        redis.call('SADD', KEYS[ENQUEUE_KEY_LEVELS], level)
        seen.levels[level] = true
      end
    end
    local refKeys = {}
    for r = 1, nrefs do refKeys[r] = KEYS[k + r] end
    local qk = ENQUEUE_KEYS + ENQUEUE_QUEUE_KEYS * (q - 1) -- before the task's queue's keys
    if enqueue_task(KEYS[ENQUEUE_KEY_EVENTS], KEYS[ENQUEUE_KEY_QUEUES], taskKey, KEYS[qk + ENQUEUE_QUEUE_KEY_READY], KEYS[qk + ENQUEUE_QUEUE_KEY_DELAYED], refKeys, group, id, queue, fields, due, now, seen, true, opts[ENQUEUE_OPTION_FLOOR]) then
      delayed = true
    end
    created[i] = 1
  end
  k = k + 1 + nrefs
  a = a + ENQUEUE_TASK_WIDTH + 2 * nopts
end
if delayed then wake_readers(KEYS[ENQUEUE_KEY_WAKE]) end
return created
