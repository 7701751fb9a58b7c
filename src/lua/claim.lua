--[[
  Takes up to `count` new entries from the given ready streams through the consumer group, visiting the
  streams in the order given (the client rotates it for fairness). Only ready streams are touched: the
  tasks are started by start.lua, whose keys the client can name once it knows the task ids. An entry
  claimed here and never started (its client died) is found idle in the group's pending list by recovery.

  KEYS    the ready streams, in visiting order
  ARGV[1] consumer group name
  ARGV[2] consumer name
  ARGV[3] count

  Returns {1, streamIndex, entryId, taskId, ...} when entries were claimed, or
          {0, lastId1, lastId2, ...}: each stream's last generated id, to block on with XREAD from there.
]]
local group, consumer = ARGV[1], ARGV[2]
local wanted = tonumber(ARGV[3])
local share = math.ceil(wanted / #KEYS)
local out = { 1 }
local got = 0

local function take(i, limit)
  local reply = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', limit, 'STREAMS', KEYS[i], '>')
  if not reply then return end
  for _, entry in ipairs(reply[1][2]) do
    local fields = entry[2]
    out[#out + 1] = i
    out[#out + 1] = entry[1]
    out[#out + 1] = fields[2]
    got = got + 1
  end
end

local exists = {}
for i = 1, #KEYS do
  exists[i] = redis.call('EXISTS', KEYS[i]) == 1
end
-- First pass: a fair share from each stream; second pass: fill up from whichever still has entries.
for pass = 1, 2 do
  for i = 1, #KEYS do
    if got >= wanted then break end
    if exists[i] then
      take(i, pass == 1 and math.min(share, wanted - got) or (wanted - got))
    end
  end
  if got >= wanted or share >= wanted then break end
end
if got > 0 then return out end

local last = { 0 }
for i = 1, #KEYS do
  local id = '0-0'
  if exists[i] then
    local info = redis.call('XINFO', 'STREAM', KEYS[i])
    for j = 1, #info, 2 do
      if info[j] == 'last-generated-id' then id = info[j + 1] end
    end
  end
  last[#last + 1] = id
end
return last
