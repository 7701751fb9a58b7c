-- Removes claimed entries (a list of ids) once their tasks started. They are acknowledged; then, when all of
-- them were pending and no older entry still is (the usual case: entries start in the order the group
-- delivered them), the stream is trimmed up to the newest of them, else they are deleted one by one. Entries
-- pending now were delivered in Redis' current state, and the group delivers in id order, so everything
-- older was delivered too: a trim only removes acknowledged entries. (An id a client remembers from before
-- a restart that lost writes may be undelivered again: then XACK acknowledges less than all, and XDEL
-- removes only those ids.) A trim costs a fraction of XDEL, which must find each entry inside its node;
-- and, unlike XDEL, it keeps the group's lag exact.
--@include call-chunked
--@include newest-id
local function drop_started(readyKey, group, entryIds)
  local acked = call_chunked('XACK', readyKey, group, entryIds)
  local _, topMs, topSeq = newest_id(entryIds, -1, -1)
  local trim = acked == #entryIds and topSeq < 9007199254740991 -- past 2^53 the +1 below would be lost
  if trim then
    local pending = redis.call('XPENDING', readyKey, group)
    -- The oldest pending entry must not be older than the newest started: newer than the id just before it.
    if pending[1] > 0 then trim = newest_id({ pending[2] }, topMs, topSeq - 1) ~= nil end
  end
  if trim then
    redis.call('XTRIM', readyKey, 'MINID', string.format('%d-%d', topMs, topSeq + 1))
  else
    call_chunked('XDEL', readyKey, nil, entryIds)
  end
end
