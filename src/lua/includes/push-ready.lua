-- Appends a task to its queue's ready stream, creating the stream and its consumer group on first use.
-- Returns the new entry id (the task's readyId). known (optional) is a set of the streams known to exist,
-- kept by the caller for one script call. Needs nothing.
local function push_ready(readyKey, group, taskId, known)
  if not (known and known[readyKey]) then
    if redis.call('EXISTS', readyKey) == 0 then
      redis.call('XGROUP', 'CREATE', readyKey, group, '0', 'MKSTREAM')
    end
    if known then known[readyKey] = true end
  end
  return redis.call('XADD', readyKey, '*', 'task', taskId)
end
