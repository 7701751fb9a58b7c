-- Appends one event to the log and folds it into the task's hash: the only way any script changes a task.
-- fields is a list {name1, value1, name2, value2, ...}; prevEvents as for fold_apply. Returns the event id
-- and its time (ms, as a string).
--@include fold-apply
local function emit(eventsKey, taskKey, taskId, eventType, fields, prevEvents)
  -- unpack() straight into the call: a table of the whole command would be built and grown for each event.
  local id = redis.call('XADD', eventsKey, '*', 'event', eventType, 'task', taskId, unpack(fields))
  -- The event's time (ms) is matched out of its id once, for the fold and the caller.
  local at = string.match(id, '^(%d+)')
  fold_apply(taskKey, id, at, eventType, fields, prevEvents)
  return id, at
end
