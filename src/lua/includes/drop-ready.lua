-- Removes a ready entry whether or not it has been delivered (XACK of an undelivered entry is a no-op).
-- Needs nothing.
local function drop_ready(readyKey, group, entryId)
  redis.call('XACK', readyKey, group, entryId)
  redis.call('XDEL', readyKey, entryId)
end
