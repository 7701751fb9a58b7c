--[[
  Records or reads a namespace's partition count (docs/architecture.md §20), in partition 0's meta hash.
  A namespace that holds a log and records no count has one partition: it was made before partitions, or
  with one, and keeps that until it is migrated. Only an unused namespace takes the count it is given.

  KEYS[1] {ns}:meta    (partition 0)
  KEYS[2] {ns}:events  (partition 0)
  ARGV[1] the partition count this instance was given
  ARGV[2] the format of a namespace of several partitions, written with a count above 1

  Returns the namespace's partition count: the one recorded, 1 for a namespace in use with none recorded,
  else ARGV[1] (now recorded). The caller compares it with its own.
]]
local recorded = redis.call('HGET', KEYS[1], 'partitions')
if recorded then return tonumber(recorded) end
if redis.call('EXISTS', KEYS[2]) == 1 then return 1 end
redis.call('HSET', KEYS[1], 'partitions', ARGV[1])
if tonumber(ARGV[1]) > 1 then redis.call('HSET', KEYS[1], 'format', ARGV[2]) end
return tonumber(ARGV[1])
