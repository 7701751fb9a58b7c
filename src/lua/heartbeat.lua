--[[
  Records that running tasks are alive, optionally with new progress (a `progress` event each), and pushes
  their heartbeat deadlines forward. Each task is checked on its own (running, held by the caller's
  lease). Heartbeats sent at about the same time go together as one call of this script.

  KEYS[1] events stream
  KEYS[2] running set
  KEYS[3..] one task hash per task

  ARGV[1] heartbeat TTL in ms
  then per task (WRITE_WIDTH values, src/redis/protocols/task-writes.ts): task id, lease the caller holds
    (or ''), '1' when progress follows (else '0'), progress (JSON)

  Returns a list with OK or a status code (includes/codes.lua) per task.
]]
--@include codes
--@include check-running
--@include emit
--@include task-writes-protocol

local ttl = tonumber(ARGV[HEARTBEAT_ARG_TTL_MS])
local eventsKey, runningKey = KEYS[HEARTBEAT_KEY_EVENTS], KEYS[HEARTBEAT_KEY_RUNNING]
local out = {}
local first = HEARTBEAT_KEYS + 1
for i = first, #KEYS do
  local a = HEARTBEAT_HEADER + (i - first) * WRITE_WIDTH
  local taskKey, taskId = KEYS[i], ARGV[a + WRITE_TASK_ID]
  local code, _, events = check_running(taskKey, ARGV[a + WRITE_LEASE])
  if code == OK then
    local fields = {}
    if ARGV[a + WRITE_HAS_PROGRESS] == '1' then fields = { 'progress', ARGV[a + WRITE_PROGRESS] } end
    local _, at = emit(eventsKey, taskKey, taskId, 'progress', fields, events)
    redis.call('ZADD', runningKey, 'XX', tonumber(at) + ttl, taskId)
  end
  out[#out + 1] = code
end
return out
