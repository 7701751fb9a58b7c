-- The guard of every worker-side transition: the task must exist, be running, and (when the caller holds a
-- lease) still be held by the caller's lease: the id of the `started` event that gave it the task, unique
-- even if Redis lost its last writes and handed the same attempt number out again.
-- Returns OK or the status code to answer with, and the task's queue and `events` field (read in the same
-- call, so that the transition need not read them again).
--@include codes
local function check_running(taskKey, heldLease)
  local state = redis.call('HMGET', taskKey, 'status', 'lease', 'queue', 'events')
  local status = state[1]
  if not status then
    return NOT_FOUND
  end
  if status ~= 'running' then
    return STATUS_CODE[status] or NOT_RUNNING
  end
  if heldLease ~= '' and heldLease ~= state[2] then
    return LEASE_LOST
  end
  return OK, state[3], state[4]
end
