-- Takes a task out of the ended index (includes/ended-member.lua), from what its hash holds: its status,
-- queue and finishedAt. A task that has not ended (a status that is no end, or no finishedAt) has no member.
--@include ended-member
local function unindex_ended(indexKey, status, queue, at, taskId)
  if (status == 'finished' or status == 'failed' or status == 'cancelled') and queue and at then
    redis.call('ZREM', indexKey, ended_member(status, queue, at, taskId))
  end
end
