--[[
  Removes a schedule, with an `unscheduled` event in the log. Tasks it emitted are left alone.

  KEYS[1] events stream
  KEYS[2] schedule hash
  KEYS[3] schedules sorted set
  KEYS[4..] the schedule's reference sets

  ARGV[1] schedule id

  Returns 1 when removed, 0 when there was no such schedule.
]]
local id = ARGV[1]
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[3], id)
for i = 4, #KEYS do redis.call('SREM', KEYS[i], id) end
redis.call('XADD', KEYS[1], '*', 'event', 'unscheduled', 'schedule', id)
return 1
