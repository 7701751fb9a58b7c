-- Takes up to `wanted` new entries through the consumer group from the streams KEYS[first..last] (in
-- that order, which the client rotates): a fair share from each first, then whatever is left. Returns a
-- flat list {streamIndex, entryId, taskId, ...} with streamIndex counted from 1 at KEYS[first]. Needs nothing.
local function claim_entries(first, last, group, consumer, wanted)
  local n = last - first + 1
  local out = {}
  if n <= 0 or wanted <= 0 then return out end
  local share = math.ceil(wanted / n)
  local got = 0
  local exists = {}
  for i = 1, n do exists[i] = redis.call('EXISTS', KEYS[first + i - 1]) == 1 end
  for pass = 1, 2 do
    for i = 1, n do
      if got >= wanted then break end
      if exists[i] then
        local limit = pass == 1 and math.min(share, wanted - got) or (wanted - got)
        local reply = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', limit, 'STREAMS', KEYS[first + i - 1], '>')
        if reply then
          for _, entry in ipairs(reply[1][2]) do
            out[#out + 1] = i
            out[#out + 1] = entry[1]
            out[#out + 1] = entry[2][2]
            got = got + 1
          end
        end
      end
    end
    if got >= wanted or share >= wanted then break end
  end
  return out
end
