--[[
  Records a compaction step in the log (a `compacted` event) before it trims, and notes the event's id in
  the namespace metadata so the next step finds the counts it carries without reading the log. Only the
  compaction lock's holder may: a pass that lost the lock (a newer one runs) writes nothing.

  KEYS[1] events stream
  KEYS[2] metadata hash
  KEYS[3] compaction lock

  ARGV[1] the caller's lock token
  ARGV[2..] the event's field/value pairs (trimmedTo, counts, ...)

  Returns the event id, or false when the caller does not hold the lock.
]]

if redis.call('GET', KEYS[3]) ~= ARGV[1] then return false end
local id = redis.call('XADD', KEYS[1], '*', 'event', 'compacted', unpack(ARGV, 2))
redis.call('HSET', KEYS[2], 'compacted', id)
return id
