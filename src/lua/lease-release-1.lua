--[[
  Gives up the scheduler leader's lease, only if the caller holds it (never a successor's).

  KEYS[1] leader key
  ARGV[1] the caller's token

  Returns 1 when released, 0 otherwise.
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
