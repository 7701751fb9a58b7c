-- The order to serve a queue's streams (its priority levels, highest first) in: as given, unless the queue
-- has priority aging (`g.aging`, ms) and a level's oldest entry waited that long: such levels go first,
-- oldest first. Returns the places of the streams in q.streams. Needs nothing.
local function serve_order(q, g)
  local order = {}
  if not g.aging or #q.streams < 2 then
    for s = 1, #q.streams do order[s] = s end
    return order
  end
  local aged, rest = {}, {}
  for s, key in ipairs(q.streams) do
    -- The first entry is the oldest still in the stream (started ones are trimmed): its id holds its time.
    local first = redis.call('XRANGE', key, '-', '+', 'COUNT', 1)[1]
    local ms = first and tonumber(string.match(first[1], '^(%d+)'))
    if ms and g.now - ms >= g.aging then aged[#aged + 1] = { s, ms } else rest[#rest + 1] = s end
  end
  table.sort(aged, function(a, b) return a[2] < b[2] end)
  for _, a in ipairs(aged) do order[#order + 1] = a[1] end
  for _, s in ipairs(rest) do order[#order + 1] = s end
  return order
end
