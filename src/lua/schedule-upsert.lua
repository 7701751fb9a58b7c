--[[
  Creates or updates a schedule (the id is derived from queue, type and references, so every instance
  calling schedule() at start-up names the same one). An unchanged schedule is left alone, without an
  event; a new or changed one is written with a `scheduled` event in the log. The next run time is kept
  unless the cron or timezone changed.

  KEYS[1] events stream
  KEYS[2] schedule hash
  KEYS[3] schedules sorted set (id scored by next run time)
  KEYS[4..] the schedule's reference sets

  ARGV[1] schedule id
  ARGV[2..9] queue, type, spec (JSON), cron, timezone, references (JSON), catchUp, next run time (ms)

  Returns 1 when created, 2 when updated, 0 when unchanged.
]]
local id = ARGV[1]
local names = { 'queue', 'type', 'spec', 'cron', 'timezone', 'references', 'catchUp' }
local current = redis.call('HMGET', KEYS[2], unpack(names))
local changed, timing = false, false
for i, name in ipairs(names) do
  if current[i] ~= ARGV[i + 1] then
    changed = true
    if name == 'cron' or name == 'timezone' then timing = true end
  end
end
if not changed then return 0 end
local created = current[1] == false
local fields = { 'XADD', KEYS[1], '*', 'event', 'scheduled', 'schedule', id }
for i, name in ipairs(names) do
  fields[#fields + 1] = name
  fields[#fields + 1] = ARGV[i + 1]
end
local eventId = redis.call(unpack(fields))
local at = string.match(eventId, '^(%d+)')
local hash = { 'HSET', KEYS[2], 'id', id, 'updatedAt', at }
for i, name in ipairs(names) do
  hash[#hash + 1] = name
  hash[#hash + 1] = ARGV[i + 1]
end
if created then
  hash[#hash + 1] = 'createdAt'
  hash[#hash + 1] = at
end
if created or timing then
  hash[#hash + 1] = 'nextRunAt'
  hash[#hash + 1] = ARGV[9]
  redis.call('ZADD', KEYS[3], tonumber(ARGV[9]), id)
end
redis.call(unpack(hash))
for i = 4, #KEYS do redis.call('SADD', KEYS[i], id) end
return created and 1 or 2
