-- What a gated queue may still claim: its start allowance less the entries of its streams claimed and not
-- started yet (another reader's prefetch, a round between claim and start). A claim counts as a start
-- reserved, so a start of what was claimed is rarely held back. Needs nothing.
local function claimable(g, streams, group)
  if not g.limited or g.allow == 0 then return g.allow end
  local pending = 0
  for _, key in ipairs(streams) do
    if redis.call('EXISTS', key) == 1 then pending = pending + redis.call('XPENDING', key, group)[1] end
  end
  return math.max(0, g.allow - pending)
end
