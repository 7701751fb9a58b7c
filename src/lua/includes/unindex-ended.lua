-- Takes a task out of the ended index (includes/ended-member.lua), from what its hash holds: its status,
-- queue and finishedAt. A task that has not ended has no member.
--@include member-of
local function unindex_ended(indexKey, status, queue, at, taskId)
  local member = member_of(status, queue, at, taskId)
  if member then redis.call('ZREM', indexKey, member) end
end
