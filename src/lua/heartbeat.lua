--[[
  Records that running tasks are alive, optionally with new progress (a `progress` event each), and pushes
  their heartbeat deadlines forward. Each task is checked on its own (running, held by the caller's
  lease). Heartbeats sent at about the same time go together as one call of this script.

  KEYS[1] events stream
  KEYS[2] running set
  KEYS[3..] one task hash per task

  ARGV[1] heartbeat TTL in ms
  then per task (4 values): task id, lease the caller holds (or ''), '1' when progress follows (else '0'),
    progress (JSON)

  Returns a list with OK or a status code (includes/codes.lua) per task.
]]
--@include codes
--@include fold
--@include emit
--@include check

local ttl = tonumber(ARGV[1])
local out = {}
for i = 3, #KEYS do
  local a = 1 + (i - 3) * 4
  local taskKey, taskId = KEYS[i], ARGV[a + 1]
  local code, _, events = check_running(taskKey, ARGV[a + 2])
  if code == OK then
    local fields = {}
    if ARGV[a + 3] == '1' then fields = { 'progress', ARGV[a + 4] } end
    local _, at = emit(KEYS[1], taskKey, taskId, 'progress', fields, events)
    redis.call('ZADD', KEYS[2], 'XX', tonumber(at) + ttl, taskId)
  end
  out[#out + 1] = code
end
return out
