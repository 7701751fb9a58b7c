--[[
  Trims the log below an id (XTRIM MINID), only for the compaction lock's holder: a pass that lost the
  lock must not trim what a newer pass has not archived or snapshotted.

  KEYS[1] events stream
  KEYS[2] compaction lock

  ARGV[1] the caller's lock token
  ARGV[2] every entry before this id goes

  Returns the number of entries removed, or -1 when the caller does not hold the lock.
]]

if redis.call('GET', KEYS[2]) ~= ARGV[1] then return -1 end
return redis.call('XTRIM', KEYS[1], 'MINID', ARGV[2])
