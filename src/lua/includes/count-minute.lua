-- Counts n tasks of one queue that started, or ended as `status`, in the minute of `at` (ms): the fields
-- `<minute>:<status>:<queue>` of the throughput hash (minute = ms / 60000), which projections/throughput.ts
-- reads. It keeps the last THROUGHPUT_MINUTES minutes: the first count of a new minute (the field is made)
-- removes the fields that fell out of that window, once a minute (field `pruned` says which), so the hash
-- stays bounded and every other call makes one write.
--@include call-chunked
local THROUGHPUT_MINUTES = 60
local function count_minute(key, status, queue, at, n)
  local minute = math.floor(tonumber(at) / 60000)
  if redis.call('HINCRBY', key, string.format('%d:%s:%s', minute, status, queue), n) ~= n then return end
  if tonumber(redis.call('HGET', key, 'pruned') or '0') >= minute then return end
  redis.call('HSET', key, 'pruned', string.format('%d', minute))
  local old = {}
  for _, field in ipairs(redis.call('HKEYS', key)) do
    local m = tonumber(string.match(field, '^(%d+):'))
    if m and m <= minute - THROUGHPUT_MINUTES then old[#old + 1] = field end
  end
  call_chunked('HDEL', key, nil, old)
end
