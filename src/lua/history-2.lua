--[[
  Reads one task's events, oldest first, through the event ids its hash keeps: the cost follows the task's
  own events, not the size of the log.

  KEYS[1] task hash
  KEYS[2] events stream

  Returns a list of stream entries {id, {field, value, ...}} (an entry trimmed from the log is left out).
]]
local ids = redis.call('HGET', KEYS[1], 'events')
if not ids then return {} end
local out = {}
for id in string.gmatch(ids, '%S+') do
  local entry = redis.call('XRANGE', KEYS[2], id, id)
  if entry[1] then out[#out + 1] = entry[1] end
end
return out
