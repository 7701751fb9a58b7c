-- Runs `redis.call(command, key, [arg,] items...)` over a long list in pieces and returns the sum of the
-- replies: Lua's unpack() fails at about 8,000 values. CHUNK is even, so pairs (score, member) stay together.
-- Needs nothing.
local CHUNK = 1000
local function call_chunked(command, key, arg, items)
  local total = 0
  for i = 1, #items, CHUNK do
    local last = math.min(i + CHUNK - 1, #items)
    if arg then
      total = total + redis.call(command, key, arg, unpack(items, i, last))
    else
      total = total + redis.call(command, key, unpack(items, i, last))
    end
  end
  return total
end
