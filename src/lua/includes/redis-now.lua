-- The Redis clock in ms (TIME is seconds and microseconds): the one clock every instance shares.
-- Needs nothing.
local function redis_now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
