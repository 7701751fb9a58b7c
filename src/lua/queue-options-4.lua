--[[
  Changes one queue's controls: pause, resume, or set (concurrency cap, rate limit, priority aging). The
  change is merged into the controls as they stand, here, so two operators changing different options at
  once both take effect. A change that changes nothing writes nothing. Otherwise a `queue-options` event
  records the queue's whole options after the change and who made it; the controls hash takes the new
  fields (it is their fold: src/projections/queue-options.ts); readers waiting are woken (a resume or a
  higher limit may let them claim). A rate limit removed drops the queue's record of its recent starts; one
  changed keeps it (those starts happened, and count in the new window).

  KEYS[1] events stream
  KEYS[2] controls hash
  KEYS[3] wake stream
  KEYS[4] the queue's rate set
  ARGV[1] queue name
  ARGV[2] action: 'set', 'pause', 'resume', or 'snapshot' (compaction, before it trims the queue's earlier
          `queue-options` events: the options as they stand, recorded even though nothing changed)
  ARGV[3] who: host:pid
  ARGV[4] concurrency: '' to keep, '-' to remove, else the cap
  ARGV[5] rate limit: '' to keep, '-' to remove, else '<max> <perMs>'
  ARGV[6] aging: '' to keep, '-' to remove, else ms

  Returns {changed (1 or 0), options JSON}: the queue's options after the call.
]]
--@include wake-readers

local eventsKey, controlsKey, wakeKey, rateKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local queue, action, by = ARGV[1], ARGV[2], ARGV[3]
local fields = { 'paused:' .. queue, 'concurrency:' .. queue, 'rate:' .. queue, 'aging:' .. queue }
local now = redis.call('HMGET', controlsKey, unpack(fields))
local want = { now[1], now[2], now[3], now[4] }
if action == 'pause' then want[1] = '1' elseif action == 'resume' then want[1] = false end
for i = 2, 4 do
  local v = ARGV[2 + i]
  if v == '-' then want[i] = false elseif v ~= '' then want[i] = v end
end

local changed = false
for i = 1, 4 do
  if (want[i] or false) ~= (now[i] or false) then changed = true end
end

local function options()
  local rate = 'null'
  if want[3] then
    local max, per = string.match(want[3], '^(%d+) (%d+)$')
    rate = '{"max":' .. max .. ',"perMs":' .. per .. '}'
  end
  return '{"paused":' .. (want[1] and 'true' or 'false') .. ',"concurrency":' .. (want[2] or 'null') ..
    ',"rateLimit":' .. rate .. ',"agingMs":' .. (want[4] or 'null') .. '}'
end

if not changed and action ~= 'snapshot' then return { 0, options() } end
local set, del = {}, {}
for i = 1, 4 do
  if want[i] then
    set[#set + 1] = fields[i]
    set[#set + 1] = want[i]
  elseif now[i] then
    del[#del + 1] = fields[i]
  end
end
if #set > 0 then redis.call('HSET', controlsKey, unpack(set)) end
if #del > 0 then redis.call('HDEL', controlsKey, unpack(del)) end
if now[3] and not want[3] then redis.call('DEL', rateKey) end
local json = options()
redis.call('XADD', eventsKey, '*', 'event', 'queue-options', 'queue', queue, 'action', action, 'options', json, 'by', by)
wake_readers(wakeKey)
return { 1, json }
