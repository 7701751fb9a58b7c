-- The id to XADD an event with so that it sorts after `floor` (ms), the newest event time its caller had
-- seen in any partition (docs/architecture.md §20, causality): '*' when the next automatic id is later
-- anyway (the clock, or the stream's last entry, is past the floor), else `<floor + 1>-*`.
--@include redis-now
local function after_floor(eventsKey, floor)
  local f = tonumber(floor)
  if redis_now() > f then return '*' end
  local last = redis.call('XREVRANGE', eventsKey, '+', '-', 'COUNT', 1)[1]
  if last and tonumber(string.match(last[1], '^(%d+)')) > f then return '*' end
  return string.format('%d', f + 1) .. '-*'
end
