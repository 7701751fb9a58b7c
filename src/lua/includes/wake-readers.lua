-- Wakes blocked readers: a task became delayed, so the time they wait until the next due task changed.
-- Needs nothing.
local function wake_readers(wakeKey)
  redis.call('XADD', wakeKey, 'MAXLEN', '~', 16, '*', 'd', '1')
end
