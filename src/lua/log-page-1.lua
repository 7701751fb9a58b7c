--[[
  One page of a partition's log for the merged replay (docs/architecture.md §20), with the partition's Redis
  time read in the same step. Every entry added later gets an id at or after that time (Redis gives a
  stream's entries ids at or after its clock, and above every id before), so the time is this partition's
  watermark: nothing can still come before it.

  KEYS[1] {p}:events
  ARGV[1] the last id read (exclusive), 0-0 for the start
  ARGV[2] the most entries to return

  Returns {now ms, entries}.
]]
local t = redis.call('TIME')
local entries = redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', ARGV[2])
return {tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), entries}
