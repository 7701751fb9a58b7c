-- The newest of a list of stream ids that is newer than the id (ms, seq), with its ms and seq as numbers;
-- nil, ms, seq when none is (of equal ids, the first counts). The one place stream ids are parsed and
-- compared: each id once, in one call for the whole list. An id that is not `ms-seq` fails the call.
-- Needs nothing.
local function newest_id(ids, ms, seq)
  local newest = nil
  for i = 1, #ids do
    local idMs, idSeq = string.match(ids[i], '^(%d+)-(%d+)$')
    idMs, idSeq = tonumber(idMs), tonumber(idSeq)
    if idMs > ms or (idMs == ms and idSeq > seq) then newest, ms, seq = ids[i], idMs, idSeq end
  end
  return newest, ms, seq
end
