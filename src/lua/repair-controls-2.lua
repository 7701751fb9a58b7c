--[[
  Sets fields of the controls hash to what the log says (verify's repair): the queues' running counts and
  their options. Each field is set only if it still holds the value verify read: a task that started or
  stopped since has counted itself, and that field is left alone.

  KEYS[1] events stream
  KEYS[2] controls hash

  ARGV triples: field, value read ('' when absent), value to set ('' removes the field)

  Returns the number of fields set. When any is, one `repaired` event (no task) with `indexes` = 'controls'
  and `controls` = JSON of the fields set and their new values ('' for removed).
]]

local set = {}
local n = 0
for i = 1, #ARGV, 3 do
  local field, seen, want = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if (redis.call('HGET', KEYS[2], field) or '') == seen then
    if want == '' then redis.call('HDEL', KEYS[2], field)
    else redis.call('HSET', KEYS[2], field, want) end
    set[field] = want
    n = n + 1
  end
end
if n > 0 then
  redis.call('XADD', KEYS[1], '*', 'event', 'repaired', 'indexes', 'controls', 'controls', cjson.encode(set))
end
return n
