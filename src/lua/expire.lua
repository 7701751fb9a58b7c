--[[
  Retention: removes the projections of tasks that ended in one status at or before a cutoff, recorded as
  one `expired` event that lists them (the log keeps their history until it is trimmed). The caller read
  each task's member from the ended index (one queue's range up to the cutoff). A member the task's hash
  does not name (the task is gone, no longer in this status, or ended at another time) only leaves the
  index, and the task's own member is put back (index hygiene). A task whose references differ from those
  the caller read (deleted and enqueued again meanwhile) is left alone. Ended tasks are in no other index:
  no ready, running or delayed entry.

  KEYS[1] events stream
  KEYS[2] ended index (includes/ended-member.lua)
  KEYS[3..] per task: its hash, then its reference sets

  ARGV[1] the status: 'finished', 'failed' or 'cancelled'
  ARGV[2] cutoff (ms), recorded in the event
  then per task (4 values): task id, its member as the caller read it, its references JSON as the caller
    read it, how many reference sets follow its hash in KEYS

  Returns the number of projections removed.
]]
--@include member-of

local indexKey, status = KEYS[2], ARGV[1]
local removed, k = {}, 3
for a = 3, #ARGV, 4 do
  local taskId, member, refs, nrefs = ARGV[a], ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3])
  local taskKey = KEYS[k]
  local state = redis.call('HMGET', taskKey, 'status', 'finishedAt', 'references', 'queue')
  local own = state[1] == status and member_of(status, state[4], state[2], taskId)
  if own ~= member then
    redis.call('ZREM', indexKey, member)
    if own then redis.call('ZADD', indexKey, 0, own) end
  elseif (state[3] or '{}') == refs then
    for i = k + 1, k + nrefs do redis.call('SREM', KEYS[i], taskId) end
    redis.call('ZREM', indexKey, member)
    redis.call('DEL', taskKey)
    removed[#removed + 1] = taskId
  end
  k = k + 1 + nrefs
end
if #removed > 0 then
  redis.call('XADD', KEYS[1], '*', 'event', 'expired', 'status', status, 'cutoff', ARGV[2], 'tasks', table.concat(removed, ' '))
end
return #removed
