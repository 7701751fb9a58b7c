--[[
  Records that a running task is alive, optionally with new progress (a `progress` event), and pushes its
  heartbeat deadline forward. Refused unless the task is running and held by the caller's attempt.

  KEYS[1] events stream
  KEYS[2] running set
  KEYS[3] task hash

  ARGV[1] task id
  ARGV[2] lease the caller holds (its `started` event id), or '' when it holds none
  ARGV[3] heartbeat TTL in ms
  ARGV[4] '1' when ARGV[5] carries progress (JSON), else '0'
  ARGV[5] progress

  Returns OK or a status code (includes/codes.lua).
]]
--@include codes
--@include fold
--@include emit
--@include check

local code = check_running(KEYS[3], ARGV[2])
if code ~= OK then return code end
local fields = {}
if ARGV[4] == '1' then fields = { 'progress', ARGV[5] } end
local _, at = emit(KEYS[1], KEYS[3], ARGV[1], 'progress', fields)
redis.call('ZADD', KEYS[2], 'XX', tonumber(at) + tonumber(ARGV[3]), ARGV[1])
return OK
