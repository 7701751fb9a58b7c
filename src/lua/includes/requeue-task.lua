-- Gives a waiting task a new ready entry at the tail of its queue, recorded as a `requeued` event with the
-- reason given ('released', 'stalled', 'retry', 'rebuild', or what redeliver.lua's caller passes).
-- Returns the new entry id (the task's readyId).
--@include push-ready
--@include emit
local function requeue_task(eventsKey, taskKey, readyKey, group, taskId, reason)
  local readyId = push_ready(readyKey, group, taskId)
  emit(eventsKey, taskKey, taskId, 'requeued', { 'readyId', readyId, 'reason', reason })
  return readyId
end
