-- Ends one running task as `finished` or `failed` (the event carries its queue, so the log alone tells
-- throughput per queue), counts it and takes it out of the running set. Refused (nothing written) unless
-- the task is running and held by the caller's lease. Returns OK or a status code.
local function end_task(eventsKey, runningKey, countsKey, taskKey, taskId, lease, hasProgress, progress, status)
  local code, queue, events = check_running(taskKey, lease)
  if code ~= OK then return code end
  local fields = { 'queue', queue }
  if hasProgress == '1' then
    fields[3] = 'progress'
    fields[4] = progress
  end
  emit(eventsKey, taskKey, taskId, status, fields, events)
  count_end(countsKey, status, queue)
  redis.call('ZREM', runningKey, taskId)
  return OK
end
