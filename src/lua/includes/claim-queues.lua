-- Claims up to `wanted` new entries through the consumer group from the queues given, in their order (the
-- client rotates it for fairness): a fair share from each queue its controls let claim anything, then
-- whatever is left. A queue's streams are its priority levels, highest first; with priority aging
-- (`aging:<queue>`), a level whose oldest entry waited that long is served before the others, oldest first.
-- Each queue q is {streams = {key...}, base = index of its first stream among all given, exists = {}};
-- gates[i] is queue_gate's answer for queue i. Returns a flat list {streamIndex, entryId, taskId, ...}, with
-- streamIndex = q.base + the stream's place in q.streams - 1.
--@include claimable
--@include serve-order
local function claim_queues(queues, gates, group, consumer, wanted)
  local out, got = {}, 0
  if wanted <= 0 then return out end
  local room, open = {}, 0
  for i, q in ipairs(queues) do
    room[i] = claimable(gates[i], q.streams, group)
    if room[i] > 0 then open = open + 1 end
  end
  if open == 0 then return out end
  local share = math.ceil(wanted / open)
  for pass = 1, 2 do
    for i, q in ipairs(queues) do
      if got >= wanted then break end
      local limit = math.min(room[i], wanted - got)
      if pass == 1 and share < limit then limit = share end
      if limit > 0 then
        for _, s in ipairs(serve_order(q, gates[i])) do
          if limit <= 0 then break end
          local key = q.streams[s]
          if q.exists[s] == nil then q.exists[s] = redis.call('EXISTS', key) == 1 end
          if q.exists[s] then
            local reply = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', limit, 'STREAMS', key, '>')
            if reply then
              for _, entry in ipairs(reply[1][2]) do
                out[#out + 1] = q.base + s - 1
                out[#out + 1] = entry[1]
                out[#out + 1] = entry[2][2]
                got, limit, room[i] = got + 1, limit - 1, room[i] - 1
              end
            end
          end
        end
      end
    end
    if got >= wanted or share >= wanted then break end
  end
  return out
end
