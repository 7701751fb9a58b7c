--[[
  Records a compaction step in the log (a `compacted` event) before it trims, and notes the event's id in
  the namespace metadata so the next step finds the counts it carries without reading the log.

  KEYS[1] events stream
  KEYS[2] metadata hash

  ARGV: the event's field/value pairs (trimmedTo, counts, ...)

  Returns the event id.
]]

local id = redis.call('XADD', KEYS[1], '*', 'event', 'compacted', unpack(ARGV))
redis.call('HSET', KEYS[2], 'compacted', id)
return id
