-- Counts a task that ended, by status and queue (the all-time totals `taskledger stats` shows).
local function count_end(countsKey, status, queue)
  redis.call('HINCRBY', countsKey, status .. ':' .. queue, 1)
end
