-- n running tasks of one queue stopped running (ended, put back, recovered, deleted): the queue's
-- `active:<queue>` count in the controls hash goes down by n. When the queue has a concurrency cap, readers
-- held back by it are woken through the wake stream, so they wait for a free slot without polling.
--@include wake-readers
local function leave_running(controlsKey, wakeKey, queue, n)
  redis.call('HINCRBY', controlsKey, 'active:' .. queue, -n)
  if redis.call('HEXISTS', controlsKey, 'concurrency:' .. queue) == 1 then wake_readers(wakeKey) end
end
