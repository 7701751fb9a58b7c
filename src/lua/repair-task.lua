--[[
  Puts one task's index entries back in step with its hash (verify's repair, a recovery pass's sweep). The
  caller saw the hash (or its absence) and decided from it; if the task has moved on since (its last event
  differs, or a hash appeared), the call writes nothing. Every index is re-derived from the hash here, so a
  repair never fights a transition: what it writes is what the task's next script expects.

  KEYS[1] events stream
  KEYS[2] running set
  KEYS[3] task hash
  KEYS[4] ready stream of the task's queue
  KEYS[5] delayed set of the task's queue
  KEYS[6] ended index (includes/ended-member.lua)
  KEYS[7..] reference sets: the first ARGV[5] are the task's own (the task is added), the rest are sets it
            is in but does not carry (it is removed)

  ARGV[1] task id
  ARGV[2] consumer group name
  ARGV[3] heartbeat TTL in ms (a running task missing from the running set gets now + TTL)
  ARGV[4] the task's last event id as the caller saw it, or '' for a task without a hash
  ARGV[5] how many of KEYS[7..] are the task's own reference sets
  ARGV[6..] the task's members the caller saw in the ended index (all but the one the hash names go)

  Returns {1, index names fixed...} (the names: ready, running, delayed, ended, reference), or {0} when the
  task moved on. A fixed ready entry is a `requeued` event (reason `repair`); any other fix is one `repaired`
  event naming the task and the indexes.
]]
--@include drop-ready
--@include requeue-task
--@include redis-now
--@include member-of

local taskId, group, ttl, seen, own = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
local h = redis.call('HMGET', KEYS[3], 'events', 'status', 'runAt', 'readyId', 'finishedAt', 'queue')
local last = h[1] and string.match(h[1], '(%S+)$') or ''
if (seen == '' and redis.call('EXISTS', KEYS[3]) == 1) or last ~= seen then return { 0 } end
local status, runAt, readyId, finishedAt = h[2], h[3], h[4], h[5]
local fixed, indexes = { 1 }, {}
local function note(index)
  if not indexes[index] then
    indexes[index] = true
    fixed[#fixed + 1] = index
  end
end

-- The running set holds exactly the running tasks (a missing deadline counts from now, as a heartbeat would).
local score = redis.call('ZSCORE', KEYS[2], taskId)
if status == 'running' and not score then
  redis.call('ZADD', KEYS[2], redis_now() + ttl, taskId)
  note('running')
elseif status ~= 'running' and score then
  redis.call('ZREM', KEYS[2], taskId)
  note('running')
end

-- The delayed set holds exactly the waiting tasks with a due time, scored by it.
score = redis.call('ZSCORE', KEYS[5], taskId)
if status == 'waiting' and runAt then
  if score ~= runAt then
    redis.call('ZADD', KEYS[5], tonumber(runAt), taskId)
    note('delayed')
  end
elseif score then
  redis.call('ZREM', KEYS[5], taskId)
  note('delayed')
end

-- The ended index holds one member per ended task, the one its hash names.
local member = member_of(status, h[6], finishedAt, taskId)
if member and redis.call('ZADD', KEYS[6], 0, member) == 1 then note('ended') end
for i = 6, #ARGV do
  if ARGV[i] ~= member and redis.call('ZREM', KEYS[6], ARGV[i]) == 1 then note('ended') end
end

for i = 7, #KEYS do
  if i < 7 + own then
    if redis.call('SADD', KEYS[i], taskId) == 1 then note('reference') end
  elseif redis.call('SREM', KEYS[i], taskId) == 1 then
    note('reference')
  end
end

-- A waiting, due task needs an entry the group will hand out: one not yet delivered, or one pending (which
-- recovery claims back). Any other entry (gone, or delivered and acknowledged) is never read again.
local function deliverable(rid)
  if not rid or #redis.call('XRANGE', KEYS[4], rid, rid) == 0 then return false end
  local delivered = '0-0'
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[4])) do
    local info = {}
    for j = 1, #g, 2 do info[g[j]] = g[j + 1] end
    if info.name == group then delivered = info['last-delivered-id'] end
  end
  local ms, seq = string.match(delivered, '^(%d+)-(%d+)$')
  local rms, rseq = string.match(rid, '^(%d+)-(%d+)$')
  ms, seq, rms, rseq = tonumber(ms), tonumber(seq), tonumber(rms), tonumber(rseq)
  if rms > ms or (rms == ms and rseq > seq) then return true end
  return #redis.call('XPENDING', KEYS[4], group, rid, rid, 1) > 0
end

local requeued = false
if status == 'waiting' and not runAt and not deliverable(readyId) then
  if readyId then drop_ready(KEYS[4], group, readyId) end
  requeue_task(KEYS[1], KEYS[3], KEYS[4], group, taskId, 'repair')
  requeued = true
end
if #fixed > 1 then
  redis.call('XADD', KEYS[1], '*', 'event', 'repaired', 'task', taskId, 'indexes', table.concat(fixed, ' ', 2))
end
if requeued then fixed[#fixed + 1] = 'ready' end
return fixed
