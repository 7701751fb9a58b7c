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

-- The body of finish.lua and fail.lua: ends every task named in KEYS[4..] (4 ARGV values each) as
-- `status`, each checked on its own. Returns a list with OK or a status code per task.
local function end_tasks(status)
  local out = {}
  for i = 4, #KEYS do
    local a = (i - 4) * 4
    out[#out + 1] = end_task(KEYS[1], KEYS[2], KEYS[3], KEYS[i], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], status)
  end
  return out
end
