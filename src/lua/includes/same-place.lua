-- Whether a task is still in the queue and at the priority level its caller read (and so declared that
-- level's ready stream among its KEYS): a delete and re-enqueue of the same id, or a priority change, may
-- race the call. `priority` is text, '0' for a task without the field. Needs nothing.
local function same_place(taskKey, queue, priority)
  local v = redis.call('HMGET', taskKey, 'queue', 'priority')
  return v[1] == queue and (v[2] or '0') == priority
end
