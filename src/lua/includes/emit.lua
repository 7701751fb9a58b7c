-- Appends one event to the log and folds it into the task's hash: the only way any script changes a task.
-- fields is a list {name1, value1, name2, value2, ...}; prevEvents as for fold_apply. Returns the event id
-- and its time (ms, as a string). floor, when given, is a time (ms) the event must sort after (after-floor).
--@include fold-apply
--@include after-floor
local function emit(eventsKey, taskKey, taskId, eventType, fields, prevEvents, floor)
  local id
  if floor then
    local xid = after_floor(eventsKey, floor)
    -- Refused only when the stream holds a later id than its last entry's (never in taskledger's logs):
    -- then the automatic id below is later still.
    if xid ~= '*' then id = redis.pcall('XADD', eventsKey, xid, 'event', eventType, 'task', taskId, unpack(fields)) end
    if type(id) ~= 'string' then id = nil end
  end
  -- unpack() straight into the call: a table of the whole command would be built and grown for each event.
  id = id or redis.call('XADD', eventsKey, '*', 'event', eventType, 'task', taskId, unpack(fields))
  -- The event's time (ms) is matched out of its id once, for the fold and the caller.
  local at = string.match(id, '^(%d+)')
  fold_apply(taskKey, id, at, eventType, fields, prevEvents)
  return id, at
end
