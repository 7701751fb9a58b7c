-- Ends running tasks as `finished` or `failed`: the tasks whose hashes are KEYS[first..last], with a write
-- record each (WRITE_WIDTH ARGV values, src/redis/protocols/task-writes.ts) after ARGV[argBase]. Each task
-- is checked on its own (running, held by the caller's lease) and refused ones are left as they are. An
-- ended task gets its event (carrying its queue, so the log alone tells throughput per queue; its outcome,
-- a finish's `result` or a fail's `failure`; and `lease` = '' when the caller held none), is counted and
-- leaves the running set (and its queue's running count) for the ended index (includes/ended-member.lua:
-- by status, queue and the time it ended, which the task lists and retention read); the
-- counts (all-time, and per minute in the throughput hash) and the index are written once per call, not once
-- per task. `deltas` (optional): a table the ended tasks' running counts are taken from per queue instead of
-- lowering them here (start.lua nets them with its starts). A task this same lease already ended the same way is a resend whose first reply was lost:
-- answered OK, and nothing is written again.
-- Returns a list with OK or a status code per task.
--@include codes
--@include check-running
--@include emit
--@include call-chunked
--@include count-end
--@include count-minute
--@include ended-member
--@include leave-running
--@include task-writes-protocol
local function end_tasks(eventsKey, runningKey, countsKey, indexKey, throughputKey, controlsKey, wakeKey, first, last, argBase, status, deltas)
  local out, ended, indexed, counts, lastAt = {}, {}, {}, {}, nil
  local outcomeField = status == 'finished' and 'result' or 'failure'
  local sameEnd = status == 'finished' and FINISHED or FAILED
  for i = first, last do
    local a = argBase + (i - first) * WRITE_WIDTH
    local taskId = ARGV[a + WRITE_TASK_ID]
    local held = ARGV[a + WRITE_LEASE]
    local code, queue, events = check_running(KEYS[i], held)
    if code == OK then
      local fields, n = { 'queue', queue }, 2
      if ARGV[a + WRITE_HAS_PROGRESS] == '1' then
        fields[3], fields[4], n = 'progress', ARGV[a + WRITE_PROGRESS], 4
      end
      local outcome = ARGV[a + WRITE_OUTCOME]
      if outcome ~= '' then
        fields[n + 1], fields[n + 2], n = outcomeField, outcome, n + 2
      end
      if held == '' then
        fields[n + 1], fields[n + 2] = 'lease', ''
      end
      local _, at = emit(eventsKey, KEYS[i], taskId, status, fields, events)
      ended[#ended + 1] = taskId
      indexed[#indexed + 1] = 0
      indexed[#indexed + 1] = ended_member(status, queue, at, taskId)
      counts[queue] = (counts[queue] or 0) + 1
      lastAt = at
    elseif code == sameEnd and held ~= '' and redis.call('HGET', KEYS[i], 'lease') == held then
      -- Only an end sent with this lease leaves it on an ended task: recovery and unfenced ends clear it.
      code = OK
    end
    out[#out + 1] = code
  end
  call_chunked('ZREM', runningKey, nil, ended)
  call_chunked('ZADD', indexKey, nil, indexed)
  -- The tasks of one call end within a millisecond or two: counted in the minute of the last one.
  for queue, n in pairs(counts) do
    count_end(countsKey, status, queue, n)
    count_minute(throughputKey, status, queue, lastAt, n)
    -- A caller that starts tasks in the same call (start.lua) nets the running counts out itself.
    if deltas then deltas[queue] = (deltas[queue] or 0) - n else leave_running(controlsKey, wakeKey, queue, n) end
  end
  return out
end
