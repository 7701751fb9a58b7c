-- Appends one event to the log and folds it into the task's hash: the only way any script changes a task.
-- fields is a list {name1, value1, name2, value2, ...}; prevEvents as for fold_apply. Returns the event id
-- and its time (ms, as a string).
local function emit(eventsKey, taskKey, taskId, eventType, fields, prevEvents)
  local xadd = { 'XADD', eventsKey, '*', 'event', eventType, 'task', taskId }
  for i = 1, #fields do xadd[7 + i] = fields[i] end
  local id = redis.call(unpack(xadd))
  fold_apply(taskKey, id, eventType, fields, prevEvents)
  return id, string.match(id, '^(%d+)')
end
