-- Counts tasks that ended (n of them, default 1), by status and queue (the all-time totals `taskledger stats` shows).
-- Needs nothing.
local function count_end(countsKey, status, queue, n)
  redis.call('HINCRBY', countsKey, status .. ':' .. queue, n or 1)
end
