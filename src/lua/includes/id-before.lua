-- Whether stream id a comes before stream id b (both `ms-seq`; ms is exact in a Lua number).
-- Needs nothing.
local function id_before(a, b)
  local aMs, aSeq = string.match(a, '^(%d+)-(%d+)$')
  local bMs, bSeq = string.match(b, '^(%d+)-(%d+)$')
  aMs, bMs = tonumber(aMs), tonumber(bMs)
  return aMs < bMs or (aMs == bMs and tonumber(aSeq) < tonumber(bSeq))
end
