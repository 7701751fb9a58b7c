-- The guard of every worker-side transition: the task must exist, be running, and (when the caller holds a
-- lease) still be held by the caller's attempt. Returns OK or the status code to answer with.
local function check_running(taskKey, heldAttempt)
  local state = redis.call('HMGET', taskKey, 'status', 'attempt')
  local status = state[1]
  if not status then
    return NOT_FOUND
  end
  if status ~= 'running' then
    return STATUS_CODE[status] or NOT_RUNNING
  end
  if heldAttempt ~= '' and heldAttempt ~= state[2] then
    return LEASE_LOST
  end
  return OK
end
