-- Gives a waiting task a new ready entry at the tail of its queue, recorded as a `requeued` event with the
-- reason given ('released', 'stalled', 'retry', 'rebuild', or what redeliver.lua's caller passes).
-- noHolder: no holder put it back (a stall, a retry, an unfenced release), so the event clears `lease` and
-- a former holder's release or retryLater is refused rather than taken for a resend of its own.
-- extra (optional): more fields for the event (a rate-limited release's `attempt`).
-- Returns the new entry id (the task's readyId).
--@include push-ready
--@include emit
local function requeue_task(eventsKey, taskKey, readyKey, group, taskId, reason, noHolder, extra)
  local readyId = push_ready(readyKey, group, taskId)
  local fields = { 'readyId', readyId, 'reason', reason }
  if noHolder then
    fields[5], fields[6] = 'lease', ''
  end
  if extra then
    for _, v in ipairs(extra) do fields[#fields + 1] = v end
  end
  emit(eventsKey, taskKey, taskId, 'requeued', fields)
  return readyId
end
