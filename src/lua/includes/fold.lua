-- Applies one event to a task's hash. FOLD_RULES is generated from src/projections/fold-rules.ts and placed
-- above this function when the script is loaded; src/projections/fold.ts interprets the same table.
-- prevEvents is the hash's `events` field when the caller has read it already (false when absent), or nil.
local function fold_apply(taskKey, eventId, eventType, fields, prevEvents)
  local rule = FOLD_RULES[eventType]
  if rule.drop then
    redis.call('DEL', taskKey)
    return
  end
  local at = string.match(eventId, '^(%d+)')
  local args = {}
  for _, pair in ipairs(rule.set) do
    local src = pair[2]
    local value
    if src == '@at' then
      value = at
    elseif src == '@id' then
      value = eventId
    elseif string.sub(src, 1, 1) == '$' then
      value = fields[string.sub(src, 2)]
    else
      value = src
    end
    if value ~= nil then
      args[#args + 1] = pair[1]
      args[#args + 1] = value
    end
  end
  local prev = prevEvents
  if prev == nil then prev = redis.call('HGET', taskKey, 'events') end
  args[#args + 1] = 'updatedAt'
  args[#args + 1] = at
  args[#args + 1] = 'events'
  args[#args + 1] = prev and (prev .. ' ' .. eventId) or eventId
  redis.call('HSET', taskKey, unpack(args))
  if #rule.del > 0 then
    redis.call('HDEL', taskKey, unpack(rule.del))
  end
end
