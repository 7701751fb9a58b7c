-- Records that tasks of a rate-limited queue started at `at` (their started event ids in `ids`): the rate set
-- keeps their times. (The running counts are the caller's: start.lua nets them with the finishes.)
--@include call-chunked
local function gate_started(g, ids, at)
  if g.rateMax then
    local scored = {}
    for _, id in ipairs(ids) do
      scored[#scored + 1] = at
      scored[#scored + 1] = id
    end
    call_chunked('ZADD', g.rateKey, nil, scored)
    -- Starts that left the window say nothing any more: the set holds at most a window's starts.
    redis.call('ZREMRANGEBYSCORE', g.rateKey, '-inf', at - g.ratePer)
  end
end
