--[[
  Compaction, before it trims the log below a point: each live task with an event below that point gets a
  `snapshot` event carrying its whole hash, so that the log after the trim still folds to it. The snapshot
  keeps, in `events`, the ids of the task's events at or after the point (still in the log). A task whose
  events are all at or after the point, or whose hash is gone, needs none.

  KEYS[1] events stream
  KEYS[2..] one task hash per task

  ARGV[1] the trim point: the log will lose every entry before this id
  ARGV[2..] the task ids, one per hash

  Returns the number of snapshots written.
]]
--@include emit
--@include id-before

local point, written = ARGV[1], 0
for i = 2, #KEYS do
  local taskKey, taskId = KEYS[i], ARGV[i]
  local flat = redis.call('HGETALL', taskKey)
  local fields, ids = {}, nil
  for j = 1, #flat, 2 do
    if flat[j] == 'events' then ids = flat[j + 1]
    else fields[#fields + 1] = flat[j] fields[#fields + 1] = flat[j + 1] end
  end
  local first = ids and string.match(ids, '^(%S+)')
  if first and id_before(first, point) then
    local kept = {}
    for id in string.gmatch(ids, '%S+') do
      if not id_before(id, point) then kept[#kept + 1] = id end
    end
    if #kept > 0 then
      fields[#fields + 1] = 'events'
      fields[#fields + 1] = table.concat(kept, ' ')
    end
    emit(KEYS[1], taskKey, taskId, 'snapshot', fields, false)
    written = written + 1
  end
end
return written
