-- Appends a task to its queue's ready stream, creating the stream and its consumer group on first use.
-- Returns the new entry id (the task's readyId). known (optional) is a set of the streams known to exist,
-- kept by the caller for one script call.
local function push_ready(readyKey, group, taskId, known)
  if not (known and known[readyKey]) then
    if redis.call('EXISTS', readyKey) == 0 then
      redis.call('XGROUP', 'CREATE', readyKey, group, '0', 'MKSTREAM')
    end
    if known then known[readyKey] = true end
  end
  return redis.call('XADD', readyKey, '*', 'task', taskId)
end

-- Wakes blocked readers: a task became delayed, so the time they wait until the next due task changed.
local function wake_readers(wakeKey)
  redis.call('XADD', wakeKey, 'MAXLEN', '~', 16, '*', 'd', '1')
end

-- Removes a ready entry whether or not it has been delivered (XACK of an undelivered entry is a no-op).
local function drop_ready(readyKey, group, entryId)
  redis.call('XACK', readyKey, group, entryId)
  redis.call('XDEL', readyKey, entryId)
end

-- Stream ids as {ms, seq} numbers, for comparing.
local function split_id(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end

-- Removes claimed entries (a list of ids) once their tasks started. They are acknowledged; then, when all of
-- them were pending and no older entry still is (the usual case: entries start in the order the group
-- delivered them), the stream is trimmed up to the newest of them, else they are deleted one by one. Entries
-- pending now were delivered in Redis' current state, and the group delivers in id order, so everything
-- older was delivered too: a trim only removes acknowledged entries. (An id a client remembers from before
-- a restart that lost writes may be undelivered again: then XACK acknowledges less than all, and XDEL
-- removes only those ids.) A trim costs a fraction of XDEL, which must find each entry inside its node;
-- and, unlike XDEL, it keeps the group's lag exact. Needs includes/chunks.lua.
local function drop_started(readyKey, group, entryIds)
  local acked = call_chunked('XACK', readyKey, group, entryIds)
  local topMs, topSeq = -1, -1
  for _, id in ipairs(entryIds) do
    local ms, seq = split_id(id)
    if ms > topMs or (ms == topMs and seq > topSeq) then topMs, topSeq = ms, seq end
  end
  local trim = acked == #entryIds and topSeq < 9007199254740991 -- past 2^53 the +1 below would be lost
  if trim then
    local pending = redis.call('XPENDING', readyKey, group)
    if pending[1] > 0 then
      local ms, seq = split_id(pending[2])
      trim = not (ms < topMs or (ms == topMs and seq < topSeq))
    end
  end
  if trim then
    redis.call('XTRIM', readyKey, 'MINID', string.format('%d-%d', topMs, topSeq + 1))
  else
    call_chunked('XDEL', readyKey, nil, entryIds)
  end
end
