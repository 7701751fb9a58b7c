-- A queue's controls as they stand at `now` (Redis ms; nil: read TIME only when a hold or a rate limit needs
-- it, and keep it in `g.now`), read once per script call: how many of its tasks
-- may start now (`allow`, math.huge when nothing limits it), and when a queue that may start none can start
-- again (`untilMs`: a rate window or a RateLimitedError hold ends; nil when only a finish or a resume frees
-- it). `limited` says a cap or a rate limit applies, so claims must also count the entries others claimed
-- and have not started yet (see claimable). `reason` names what limits it most: 'paused', 'hold',
-- 'concurrency' or 'rate'. `aging` is the queue's priority aging (ms) or nil.
-- The fields are those of `{ns}:controls` (src/redis/keys.ts); `rateKey` is the queue's sorted set of recent
-- starts (member: started event id, score: its time). `activeOffset` (optional) is added to the running count
-- read: what the caller changed and has not written yet. `capped` says a concurrency cap is set. Needs nothing.
--@include redis-now
local function queue_gate(controlsKey, rateKey, queue, now, activeOffset)
  local c = redis.call('HMGET', controlsKey, 'paused:' .. queue, 'hold:' .. queue, 'concurrency:' .. queue,
    'rate:' .. queue, 'active:' .. queue, 'aging:' .. queue)
  local g = { allow = math.huge, aging = tonumber(c[6]), limited = false, rateKey = rateKey, capped = c[3] ~= false }
  if c[1] then
    g.allow, g.reason = 0, 'paused'
    return g
  end
  if (c[2] or c[4] or c[6]) and not now then now = redis_now() end
  g.now = now
  if c[2] and tonumber(c[2]) > now then
    g.allow, g.untilMs, g.reason = 0, tonumber(c[2]), 'hold'
    return g
  end
  if c[3] then
    g.limited = true
    g.allow = math.max(0, tonumber(c[3]) - (tonumber(c[5]) or 0) - (activeOffset or 0))
    g.reason = 'concurrency'
  end
  if c[4] then
    g.limited = true
    local max, per = string.match(c[4], '^(%d+) (%d+)$')
    max, per = tonumber(max), tonumber(per)
    g.rateMax, g.ratePer = max, per
    -- Starts in the window (now - per, now]: one more is allowed while they are fewer than max.
    local inWindow = redis.call('ZCOUNT', rateKey, '(' .. (now - per), '+inf')
    if max - inWindow < g.allow then g.allow, g.reason = math.max(0, max - inWindow), 'rate' end
    if g.allow == 0 then
      -- The window frees a start when its oldest start leaves it.
      local oldest = redis.call('ZRANGEBYSCORE', rateKey, '(' .. (now - per), '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
      if oldest[2] then g.untilMs = tonumber(oldest[2]) + per + 1 end
    end
  end
  return g
end
