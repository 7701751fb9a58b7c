--[[
  Moves a namespace of one partition to more, online (docs/architecture.md §20): records the new count and
  the partitioned format, marks partition 0 as holding tasks of any route (`legacy`: its tasks keep their
  place, and lookups by id look there too), and logs a `partitioned` event.

  KEYS[1] {ns}:meta    (partition 0)
  KEYS[2] {ns}:events  (partition 0)
  ARGV[1] the new partition count (> 1)
  ARGV[2] the partitioned format number
  ARGV[3] who asked (host:pid)

  Returns 1 when moved, 0 when the namespace has that count already, or minus the count recorded when it
  has another count than 1 (nothing written).
]]
local recorded = tonumber(redis.call('HGET', KEYS[1], 'partitions') or '1')
local wanted = tonumber(ARGV[1])
if recorded == wanted then return 0 end
if recorded ~= 1 then return -recorded end
redis.call('HSET', KEYS[1], 'partitions', ARGV[1], 'format', ARGV[2], 'legacy', '1')
redis.call('XADD', KEYS[2], '*', 'event', 'partitioned', 'task', '', 'partitions', ARGV[1], 'from', '1', 'by', ARGV[3])
return 1
