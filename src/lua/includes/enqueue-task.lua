-- Adds one new task: its `enqueued` event (folded into its hash), its reference sets, and either a ready
-- entry or, when due later than now, a place in its queue's delayed set. fields are the event's fields
-- without readyId and runAt. seen ({streams = {}, queues = {}}) is kept by the caller for one script call,
-- so that a batch checks each ready stream and adds each queue name once; isNew says the caller saw that the hash does not exist;
-- floor (ms, or nil) is the time the event must sort after (§20).
-- Returns true when the task was delayed.
--@include push-ready
--@include emit
local function enqueue_task(eventsKey, queuesKey, taskKey, readyKey, delayedKey, refKeys, group, id, queue, fields, due, now, seen, isNew, floor)
  local delayed = false
  if due and due > now then
    redis.call('ZADD', delayedKey, due, id)
    fields[#fields + 1] = 'runAt'
    fields[#fields + 1] = string.format('%d', due)
    delayed = true
  else
    fields[#fields + 1] = 'readyId'
    fields[#fields + 1] = push_ready(readyKey, group, id, seen.streams)
  end
  if not seen.queues[queue] then
    redis.call('SADD', queuesKey, queue)
    seen.queues[queue] = true
  end
  for _, refKey in ipairs(refKeys) do
    redis.call('SADD', refKey, id)
  end
  local prev = nil
  if isNew then prev = false end
  emit(eventsKey, taskKey, id, 'enqueued', fields, prev, floor)
  return delayed
end
