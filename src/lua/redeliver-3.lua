--[[
  Recovers a ready entry that was claimed but never started (its reader died between claim.lua and
  start.lua, or gave it up). The entry is removed; if the task still waits for exactly that entry it gets
  a new one at the tail of its queue (a `requeued` event). A stale entry is only removed.

  KEYS[1] events stream
  KEYS[2] task hash
  KEYS[3] ready stream

  ARGV[1] task id
  ARGV[2] entry id
  ARGV[3] consumer group name
  ARGV[4] reason recorded in the event

  Returns 1 when the task was given a new entry, else 0.
]]
--@include drop-ready
--@include requeue-task

local taskId, entryId, group = ARGV[1], ARGV[2], ARGV[3]
drop_ready(KEYS[3], group, entryId)
local state = redis.call('HMGET', KEYS[2], 'status', 'readyId')
if state[1] ~= 'waiting' or state[2] ~= entryId then return 0 end
requeue_task(KEYS[1], KEYS[2], KEYS[3], group, taskId, ARGV[4])
return 1
