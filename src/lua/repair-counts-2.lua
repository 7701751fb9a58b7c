--[[
  Sets fields of the counts hash to what the log says (verify's repair). Each field is set only if it still
  holds the value verify read: a task that ended since has counted itself, and that field is left alone.

  KEYS[1] events stream
  KEYS[2] counts hash

  ARGV triples: field, value read ('' when absent), value to set ('0' removes the field)

  Returns the number of fields set. When any is, one `repaired` event (no task) with `indexes` = 'counts'
  and `counts` = JSON of the fields set and their new values.
]]

local set = {}
local n = 0
for i = 1, #ARGV, 3 do
  local field, seen, want = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if (redis.call('HGET', KEYS[2], field) or '') == seen then
    if want == '0' then redis.call('HDEL', KEYS[2], field)
    else redis.call('HSET', KEYS[2], field, want) end
    set[field] = tonumber(want)
    n = n + 1
  end
end
if n > 0 then
  redis.call('XADD', KEYS[1], '*', 'event', 'repaired', 'indexes', 'counts', 'counts', cjson.encode(set))
end
return n
