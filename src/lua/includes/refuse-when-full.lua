-- Fails the script with Redis' OOM error, before it writes anything, when Redis is over its maxmemory (and
-- cannot evict). Redis refuses only a script's first write that may grow memory: one that acknowledges or
-- claims first (XACK, XREADGROUP) would go on to write all the rest, and start a task whose end it then
-- could not record. A ZADD XX of a member that never exists writes nothing when Redis has room.
-- Needs nothing.
local function refuse_when_full(sortedSetKey)
  redis.call('ZADD', sortedSetKey, 'XX', 0, '')
end
