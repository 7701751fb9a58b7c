--[[
  Drops a schedules-index entry whose schedule hash is gone, atomically: a schedule re-created meanwhile
  keeps its entry.

  KEYS[1] schedule hash
  KEYS[2] schedules sorted set

  ARGV[1] schedule id

  Returns 1 when the entry was dropped, else 0.
]]
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
return redis.call('ZREM', KEYS[2], ARGV[1])
