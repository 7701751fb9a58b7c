--[[
  Extends the scheduler leader's lease, only if the caller still holds it.

  KEYS[1] leader key
  ARGV[1] the caller's token
  ARGV[2] lease length in ms

  Returns 1 when renewed, 0 when the lease is someone else's (or expired).
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
