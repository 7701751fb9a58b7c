--[[
  Starts claimed tasks: for each, the ready entry is acknowledged and removed, and if the task is still
  waiting for exactly that entry it becomes running with attempt + 1 (a `started` event) and a heartbeat
  deadline in the running set. An entry that no longer matches (the task was cancelled, deleted or
  re-queued meanwhile) is only removed: no task ever starts twice from one entry.

  Each start is checked against its queue's controls in this same call (includes/queue-gate.lua): a paused
  or held queue starts nothing, a concurrency cap counts the queue's running tasks (`active:<queue>`, which
  this call raises), a rate limit the starts in its window (kept in the queue's rate set). An entry held
  back stays claimed (pending) and is answered 1, for the caller to give back.

  The started event's id becomes the task's lease: the holder's fencing token.

  In the same call it can finish tasks first (what finish.lua does, each checked on its own); claim and
  start entries that arrived while the caller waited (it read them with XREAD, so it can declare their task
  keys: one round trip from wake-up to running, not two); and claim the next entries (a worker's prefetch)
  from ready streams declared last. A busy worker thus needs one round trip per batch: its finished tasks
  out, the next tasks in.

  KEYS[1] events stream
  KEYS[2] running set
  KEYS[3] counts hash
  KEYS[4] ended index (the finishes taken along go there)
  KEYS[5] throughput hash (per-minute counts of the starts and of the finishes)
  KEYS[6] controls hash (queue controls and running counts)
  KEYS[7] wake stream (finishes of capped queues wake readers held back)
  then one task hash per task to finish
  then for each claimed entry to start: task hash, ready stream
  then for each arrived entry: task hash, ready stream
  then for each queue: its rate set, then its ready streams (highest level first)

  ARGV[1] consumer group name
  ARGV[2] heartbeat TTL in ms
  ARGV[3] number of claimed entries to start
  ARGV[4] consumer name
  ARGV[5] how many entries to claim for next time (0 for none)
  ARGV[6] number of tasks to finish
  ARGV[7] number of arrived entries
  ARGV[8] number of queues
  then for each task to finish (WRITE_WIDTH values, as finish.lua): task id, lease held (or ''), '1' when
    progress follows (else '0'), progress (JSON), result (JSON) or ''
  then for each claimed entry: task id, entry id, the place of its queue among the queues (from 1)
  then for each arrived entry: task id, entry id, the place of its queue
  then for each queue: its name, the number of its ready streams, '1' to claim the next entries from it
    (the queues to claim from come first, in visiting order)
  The layout is src/redis/protocols/start.ts' (includes/start-protocol.lua).

  Fails with Redis' OOM error, having written nothing, when Redis is full (includes/refuse-when-full.lua).

  Returns {starts, claims, finishes, extra}: starts is one JSON text (cjson), a list with, per claimed entry
  then per arrived entry, [started event id, attempt, then the values of the fields in START_FIELDS after
  the first four, false when absent] (the hash fields the `started` event may leave alone; the caller folds
  the event into them), 0 when it was not started (an arrived entry another reader took counts as not
  started), or 1 when its queue's controls held it back (still claimed); claims is {streamIndex, entryId,
  taskId, ...} (streamIndex from 1, counting every queue's streams); finishes has OK or a status
  code per task to finish; extra is {arrivedIndex, entryId, taskId, ...}: entries claimed from an arrived
  entry's stream whose task was not declared (the caller starts them next).
]]
--@include refuse-when-full
--@include end-tasks
--@include count-minute
--@include drop-started
--@include emit
--@include zadd-as-skiplist
--@include claim-queues
--@include queue-gate
--@include claimable
--@include gate-started
--@include wake-readers
--@include task-writes-protocol
--@include start-protocol

local group, ttl, n = ARGV[START_ARG_GROUP], tonumber(ARGV[START_ARG_TTL_MS]), tonumber(ARGV[START_ARG_CLAIMED])
local consumer, prefetch = ARGV[START_ARG_CONSUMER], tonumber(ARGV[START_ARG_PREFETCH])
local nf, ne, nq = tonumber(ARGV[START_ARG_FINISHES]), tonumber(ARGV[START_ARG_ARRIVED]), tonumber(ARGV[START_ARG_QUEUES])
local eventsKey, runningKey = KEYS[START_KEY_EVENTS], KEYS[START_KEY_RUNNING]
local controlsKey, wakeKey = KEYS[START_KEY_CONTROLS], KEYS[START_KEY_WAKE]
-- A full Redis starts nothing: the task's finish would be refused, and it would run again after a stall.
refuse_when_full(runningKey)
-- Finishes first: the slots they free count for the starts below.
-- The running counts change once per queue at the end, by the starts less the finishes (at concurrency 1, a
-- finish and a start of one queue: no write at all).
local deltas = {}
local finishes = end_tasks(eventsKey, runningKey, KEYS[START_KEY_COUNTS], KEYS[START_KEY_ENDED_INDEX], KEYS[START_KEY_THROUGHPUT], controlsKey, wakeKey, START_KEYS + 1, START_KEYS + nf, START_HEADER, 'finished', deltas)
-- Where the entries to start begin, in KEYS and in ARGV, then the arrived ones, then the queues: entry i's
-- are at k0 + (i - 1) * START_ENTRY_KEYS + START_ENTRY_KEY_<name>, a0 + (i - 1) * START_ENTRY_WIDTH + START_ENTRY_<name>.
local k0, a0 = START_KEYS + nf, START_HEADER + WRITE_WIDTH * nf
local k1, a1 = k0 + START_ENTRY_KEYS * n, a0 + START_ENTRY_WIDTH * n
local queues, claimFrom = {}, {}
do
  local k, a, base = k1 + START_ENTRY_KEYS * ne, a1 + START_ENTRY_WIDTH * ne, 1
  for i = 1, nq do
    local ns = tonumber(ARGV[a + START_QUEUE_STREAMS])
    local streams = {}
    for s = 1, ns do streams[s] = KEYS[k + START_QUEUE_KEYS + s] end
    queues[i] = { name = ARGV[a + START_QUEUE_NAME], rate = KEYS[k + START_QUEUE_KEY_RATE], streams = streams, base = base, exists = {}, started = {} }
    if ARGV[a + START_QUEUE_CLAIM_FROM] == '1' then claimFrom[#claimFrom + 1] = i end
    k, a, base = k + START_QUEUE_KEYS + ns, a + START_QUEUE_WIDTH, base + ns
  end
end
-- Each queue's controls, read once, after the finishes.
local gates = {}
local function gate(i)
  local g = gates[i]
  if not g then
    g = queue_gate(controlsKey, queues[i].rate, queues[i].name, nil, deltas[queues[i].name])
    gates[i] = g
  end
  return g
end
-- What to start, as {task hash, ready stream, task id, entry id, queue place}: the entries the caller
-- claimed, then the arrived entries this call claims itself, each only if the group hands it to us here.
local todo = {}
for i = 1, n do
  local k, a = k0 + (i - 1) * START_ENTRY_KEYS, a0 + (i - 1) * START_ENTRY_WIDTH
  todo[i] = {
    KEYS[k + START_ENTRY_KEY_TASK], KEYS[k + START_ENTRY_KEY_READY], ARGV[a + START_ENTRY_TASK_ID], ARGV[a + START_ENTRY_ENTRY_ID],
    tonumber(ARGV[a + START_ENTRY_QUEUE]),
  }
end
local extra = {}
if ne > 0 then
  local wanted, streams, byEntry, room = {}, {}, {}, {}
  for j = 1, ne do
    local k, a = k1 + (j - 1) * START_ENTRY_KEYS, a1 + (j - 1) * START_ENTRY_WIDTH
    local readyKey = KEYS[k + START_ENTRY_KEY_READY]
    if not wanted[readyKey] then
      wanted[readyKey] = 0
      streams[#streams + 1] = { readyKey, j, tonumber(ARGV[a + START_ENTRY_QUEUE]) }
    end
    wanted[readyKey] = wanted[readyKey] + 1
    -- By stream and id: one enqueue call gives the same id to entries of different queues.
    byEntry[readyKey .. ' ' .. ARGV[a + START_ENTRY_ENTRY_ID]] = j
  end
  for _, s in ipairs(streams) do
    -- No more than the queue's controls let it claim (a held queue claims nothing: its entries stay for later).
    local qi = s[3]
    if room[qi] == nil then room[qi] = claimable(gate(qi), queues[qi].streams, group) end
    local count = math.min(wanted[s[1]], room[qi])
    local reply = count > 0 and redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', count, 'STREAMS', s[1], '>')
    if reply then
      for _, entry in ipairs(reply[1][2]) do
        room[qi] = room[qi] - 1
        local j = byEntry[s[1] .. ' ' .. entry[1]]
        local a = j and a1 + (j - 1) * START_ENTRY_WIDTH
        if j and ARGV[a + START_ENTRY_TASK_ID] == entry[2][2] then
          local k = k1 + (j - 1) * START_ENTRY_KEYS
          todo[n + j] = { KEYS[k + START_ENTRY_KEY_TASK], KEYS[k + START_ENTRY_KEY_READY], ARGV[a + START_ENTRY_TASK_ID], entry[1], qi }
        else
          -- Claimed, but its task key was not declared: the caller starts it next time.
          extra[#extra + 1] = s[2]
          extra[#extra + 1] = entry[1]
          extra[#extra + 1] = entry[2][2]
        end
      end
    end
  end
end
local starts, deadlines = {}, {}
-- The entries to remove (started, or stale), all of one stream at once: XACK takes many ids, and a call
-- per id costs more. An entry held back by its queue's controls stays claimed.
local byStream, order = {}, {}
-- Numbers made into text cost Redis a printf and parsing them back a strtod: the next attempt of a first
-- start is looked up, and a deadline is made once per event time (the tasks of a call mostly share one).
local NEXT_ATTEMPT = { ['0'] = '1', ['1'] = '2', ['2'] = '3' }
local deadlineAt, deadline, lastAt = nil, nil, nil
for i = 1, n + ne do
  starts[i] = 0
  local t = todo[i]
  if t then
    local taskKey, taskId, entryId = t[1], t[3], t[4]
    -- One read serves the check and the reply: only the fields the started event leaves as they were go
    -- back (the client folds the event into them), as every value returned is converted twice.
    local state = redis.call('HMGET', taskKey, unpack(START_FIELDS))
    local status, readyId = state[START_FIELD_STATUS], state[START_FIELD_READY_ID]
    local drop = true
    if status == 'waiting' and readyId == entryId then
      local g = gate(t[5])
      if g.allow > 0 then
        g.allow = g.allow - 1
        local attempt, events = state[START_FIELD_ATTEMPT], state[START_FIELD_EVENTS]
        local next = NEXT_ATTEMPT[attempt] or tostring(tonumber(attempt) + 1)
        local id, at = emit(eventsKey, taskKey, taskId, 'started', { 'attempt', next }, events or false)
        if at ~= deadlineAt then deadlineAt, deadline = at, tostring(tonumber(at) + ttl) end
        deadlines[#deadlines + 1] = deadline
        deadlines[#deadlines + 1] = taskId
        local started = queues[t[5]].started
        started[#started + 1] = id
        lastAt = at
        -- The started event id and attempt, then the kept values (those after the fields used here): START.started.
        starts[i] = { id, next, unpack(state, START_KEPT_FROM) }
      else
        starts[i], drop = 1, false
      end
    end
    if drop then
      local ids = byStream[t[2]]
      if not ids then
        ids = {}
        byStream[t[2]] = ids
        order[#order + 1] = t[2]
      end
      ids[#ids + 1] = entryId
    end
  end
end
for _, readyKey in ipairs(order) do drop_started(readyKey, group, byStream[readyKey]) end
-- Heartbeat deadlines of all started tasks in one write, into a skiplist (includes/zadd-as-skiplist.lua says why).
zadd_as_skiplist(runningKey, deadlines)
local gateOf = {}
for i, q in ipairs(queues) do
  if #q.started > 0 then
    local g = gate(i)
    gate_started(g, q.started, lastAt)
    deltas[q.name] = (deltas[q.name] or 0) + #q.started
    -- The starts of one call fall within a millisecond or two: counted in the minute of the last one.
    count_minute(KEYS[START_KEY_THROUGHPUT], 'started', q.name, lastAt, #q.started)
  end
  gateOf[q.name] = gates[i]
end
for queue, d in pairs(deltas) do
  if d ~= 0 then redis.call('HINCRBY', controlsKey, 'active:' .. queue, d) end
  -- Slots freed on a capped queue: readers held back by its cap look again.
  if d < 0 then
    local g = gateOf[queue]
    local capped = g and g.capped
    if capped == nil then capped = redis.call('HEXISTS', controlsKey, 'concurrency:' .. queue) == 1 end
    if capped then wake_readers(wakeKey) end
  end
end
local ahead, aheadGates = {}, {}
for j, i in ipairs(claimFrom) do
  ahead[j], aheadGates[j] = queues[i], gate(i)
end
-- One JSON text, not nested lists: a client parses one string much faster than 18 values per task (ioredis
-- makes each a Buffer, then a string). An empty table would encode as {}, hence '[]'.
local startsJson = #starts > 0 and cjson.encode(starts) or '[]'
-- In START.reply order.
return { startsJson, claim_queues(ahead, aheadGates, group, consumer, prefetch), finishes, extra }
