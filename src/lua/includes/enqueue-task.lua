-- Adds one new task: its `enqueued` event (folded into its hash), its reference sets, and either a ready
-- entry or, when due later than now, a place in its queue's delayed set. fields are the event's fields
-- without readyId and runAt. Returns true when the task was delayed.
local function enqueue_task(eventsKey, queuesKey, taskKey, readyKey, delayedKey, refKeys, group, id, queue, fields, due, now)
  local delayed = false
  if due and due > now then
    redis.call('ZADD', delayedKey, due, id)
    fields[#fields + 1] = 'runAt'
    fields[#fields + 1] = string.format('%d', due)
    delayed = true
  else
    fields[#fields + 1] = 'readyId'
    fields[#fields + 1] = push_ready(readyKey, group, id)
  end
  redis.call('SADD', queuesKey, queue)
  for _, refKey in ipairs(refKeys) do
    redis.call('SADD', refKey, id)
  end
  emit(eventsKey, taskKey, id, 'enqueued', fields)
  return delayed
end
