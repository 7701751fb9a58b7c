-- Records that n tasks of a gated queue started at `at` (their started event ids in `ids`): the running
-- count went up, and a rate-limited queue keeps their times.
--@include call-chunked
local function gate_started(controlsKey, queue, g, ids, at)
  redis.call('HINCRBY', controlsKey, 'active:' .. queue, #ids)
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
