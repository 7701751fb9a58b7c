-- The ended index's member (includes/ended-member.lua) that a task's hash names: from its status, queue and
-- finishedAt; nil for a task that has not ended (a status that is no end, or a field missing).
--@include ended-member
local function member_of(status, queue, at, taskId)
  if (status == 'finished' or status == 'failed' or status == 'cancelled') and queue and at then
    return ended_member(status, queue, at, taskId)
  end
  return nil
end
