--[[
  Enqueues one task with a deduplication key: a task already holding the key makes this enqueue a duplicate,
  which stores nothing and answers with the holder's id (debounce: with replace, a holder still waiting and
  of the same type takes this request's spec, a `replaced` event). The key's value is `<mode>:<holder id>`: mode `t` (held
  for ttlMs, whatever the holder's status) or `s` (held while the holder waits or runs; an enqueue that finds
  it ended or gone takes the key over), with at most DEDUP_MAX_MS as its expiry then, so that keys nobody
  enqueues again do not stay for ever.

  The caller read the key first (GET) and declares the holder's hash: the script answers -1 with the value
  now there when another enqueue changed it since, and the caller tries again with that.

  KEYS[1] events stream
  KEYS[2] queues set
  KEYS[3] wake stream
  KEYS[4] levels set
  KEYS[5] ready stream of the task's queue and priority level
  KEYS[6] delayed set of the task's queue
  KEYS[7] the dedup key
  KEYS[8] the hash of the task the caller read as holder (the new task's own when none)
  KEYS[9] the new task's hash
  KEYS[10..] the new task's reference sets

  ARGV[1] consumer group name
  ARGV[2] the new task's id
  ARGV[3] queue
  ARGV[4] the key's value the caller read ('' when none)
  ARGV[5] ttlMs ('' for none: held while the holder waits or runs)
  ARGV[6] '1' to replace a waiting holder's spec
  ARGV[7] delay in ms ('' for none)
  ARGV[8] runAt in ms ('' for none)
  ARGV[9] `<priority>:<queue>` for a level above 0, else ''
  ARGV[10] the spec (JSON), for a replace
  ARGV[11..] the `enqueued` event's fields, as name/value pairs (without readyId and runAt), starting with
    queue and type first (so ARGV[14] is the type)

  Returns {1, id} created, {0, holder id} a duplicate, {2, holder id} a duplicate whose spec replaced the
  holder's, {3, id} the new id existed already (a retried call), or {-1, value} when the key changed since
  the caller read it.
]]
--@include enqueue-task
--@include emit
--@include wake-readers
--@include redis-now

-- 30 days: how long a key held while its task waits or runs lasts at most (src/commands/dedup.ts DEDUP_MAX_MS).
local DEDUP_MAX_MS = 2592000000
local group, id, queue, seenValue = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local cur = redis.call('GET', KEYS[7]) or ''
if cur ~= seenValue then return { -1, cur } end
if redis.call('EXISTS', KEYS[9]) == 1 then return { 3, id } end
if cur ~= '' then
  local mode, holder = string.sub(cur, 1, 1), string.sub(cur, 3)
  local status = redis.call('HGET', KEYS[8], 'status')
  if mode == 't' or status == 'waiting' or status == 'running' then
    -- Only a holder of the same type takes the new spec: another type's handler could not read it.
    local holderType = redis.call('HGET', KEYS[8], 'type')
    if ARGV[6] == '1' and status == 'waiting' and holderType == ARGV[14]
      and redis.call('HGET', KEYS[8], 'spec') ~= ARGV[10] then
      emit(KEYS[1], KEYS[8], holder, 'replaced', { 'spec', ARGV[10] })
      return { 2, holder }
    end
    return { 0, holder }
  end
end
local now = redis_now()
local due = nil
if ARGV[7] ~= '' then due = now + tonumber(ARGV[7]) elseif ARGV[8] ~= '' then due = tonumber(ARGV[8]) end
local fields = {}
for i = 11, #ARGV do fields[#fields + 1] = ARGV[i] end
local refKeys = {}
for i = 10, #KEYS do refKeys[#refKeys + 1] = KEYS[i] end
if ARGV[9] ~= '' then redis.call('SADD', KEYS[4], ARGV[9]) end
if enqueue_task(KEYS[1], KEYS[2], KEYS[9], KEYS[5], KEYS[6], refKeys, group, id, queue, fields, due, now, { streams = {}, queues = {} }, true) then
  wake_readers(KEYS[3])
end
if ARGV[5] ~= '' then
  redis.call('SET', KEYS[7], 't:' .. id, 'PX', ARGV[5])
else
  redis.call('SET', KEYS[7], 's:' .. id, 'PX', DEDUP_MAX_MS)
end
return { 1, id }
