-- Appends a task to its queue's ready stream, creating the stream and its consumer group on first use.
-- Returns the new entry id (the task's readyId).
local function push_ready(readyKey, group, taskId)
  if redis.call('EXISTS', readyKey) == 0 then
    redis.call('XGROUP', 'CREATE', readyKey, group, '0', 'MKSTREAM')
  end
  return redis.call('XADD', readyKey, '*', 'task', taskId)
end

-- Wakes blocked readers: a task became delayed, so the time they wait until the next due task changed.
local function wake_readers(wakeKey)
  redis.call('XADD', wakeKey, 'MAXLEN', '~', 16, '*', 'd', '1')
end

-- Removes a ready entry whether or not it has been delivered (XACK of an undelivered entry is a no-op).
local function drop_ready(readyKey, group, entryId)
  redis.call('XACK', readyKey, group, entryId)
  redis.call('XDEL', readyKey, entryId)
end
