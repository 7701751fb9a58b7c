--[[
  Records that running tasks are alive and pushes their heartbeat deadlines forward. Only a heartbeat with
  new progress writes a `progress` event: liveness lives in the running set, so a long task's plain
  heartbeats do not grow the log or its hash's list of events. Each task is checked on its own (running, held by the caller's
  lease). Heartbeats sent at about the same time go together as one call of this script.

  KEYS[1] events stream
  KEYS[2] running set
  KEYS[3..] one task hash per task

  ARGV[1] heartbeat TTL in ms
  then per task (WRITE_WIDTH values, src/redis/protocols/task-writes.ts): task id, lease the caller holds
    (or ''), '1' when progress follows (else '0'), progress (JSON), outcome (unused here: '')

  Returns a list with OK or a status code (includes/codes.lua) per task.
]]
--@include codes
--@include check-running
--@include emit
--@include task-writes-protocol
--@include redis-now

local ttl = tonumber(ARGV[HEARTBEAT_ARG_TTL_MS])
local eventsKey, runningKey = KEYS[HEARTBEAT_KEY_EVENTS], KEYS[HEARTBEAT_KEY_RUNNING]
local out = {}
local now = nil
local first = HEARTBEAT_KEYS + 1
for i = first, #KEYS do
  local a = HEARTBEAT_HEADER + (i - first) * WRITE_WIDTH
  local taskKey, taskId = KEYS[i], ARGV[a + WRITE_TASK_ID]
  local code, _, events = check_running(taskKey, ARGV[a + WRITE_LEASE])
  if code == OK then
    local at
    if ARGV[a + WRITE_HAS_PROGRESS] == '1' then
      local _, eventAt = emit(eventsKey, taskKey, taskId, 'progress', { 'progress', ARGV[a + WRITE_PROGRESS] }, events)
      at = tonumber(eventAt)
    else
      now = now or redis_now()
      at = now
    end
    redis.call('ZADD', runningKey, 'XX', at + ttl, taskId)
  end
  out[#out + 1] = code
end
return out
