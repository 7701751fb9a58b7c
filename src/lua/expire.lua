--[[
  Retention: removes the projections of tasks that ended in one status at or before a cutoff, recorded as
  one `expired` event that lists them (the log keeps their history until it is trimmed). An id whose hash
  is gone, or whose task is no longer in that status, only leaves the set, and one scored before the
  cutoff that ended after it gets its end time as score (index hygiene). A task whose references differ
  from those the caller read (deleted and enqueued again meanwhile) is left alone. Ended tasks are in no other index: no ready, running or delayed entry.

  KEYS[1] events stream
  KEYS[2] ended set of the status
  KEYS[3] ended index (includes/ended-member.lua)
  KEYS[4..] per task: its hash, then its reference sets

  ARGV[1] the status: 'finished', 'failed' or 'cancelled'
  ARGV[2] cutoff (ms): tasks that ended at or before it go
  then per task (3 values): task id, its references JSON as the caller read it, how many reference sets
    follow its hash in KEYS

  Returns the number of projections removed.
]]
--@include unindex-ended

local endedKey, status, cutoff = KEYS[2], ARGV[1], tonumber(ARGV[2])
local removed, k = {}, 4
for a = 3, #ARGV, 3 do
  local taskId, refs, nrefs = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2])
  local taskKey = KEYS[k]
  local state = redis.call('HMGET', taskKey, 'status', 'finishedAt', 'references', 'queue')
  if state[1] ~= status then
    redis.call('ZREM', endedKey, taskId)
  elseif tonumber(state[2]) > cutoff then
    -- Scored before the cutoff but ended after it (a stale score): the set follows the hash.
    redis.call('ZADD', endedKey, state[2], taskId)
  elseif (state[3] or '{}') == refs then
    for i = k + 1, k + nrefs do redis.call('SREM', KEYS[i], taskId) end
    redis.call('ZREM', endedKey, taskId)
    unindex_ended(KEYS[3], status, state[4], state[2], taskId)
    redis.call('DEL', taskKey)
    removed[#removed + 1] = taskId
  end
  k = k + 1 + nrefs
end
if #removed > 0 then
  redis.call('XADD', KEYS[1], '*', 'event', 'expired', 'status', status, 'cutoff', ARGV[2], 'tasks', table.concat(removed, ' '))
end
return #removed
