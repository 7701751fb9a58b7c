--[[
  Marks running tasks finished (a `finished` event each), optionally with final progress, and takes them out of
  the running set. Each task is checked on its own: one refused task does not stop the others. Calls made
  at about the same time are sent together as one call of this script.

  KEYS[1] events stream
  KEYS[2] running set
  KEYS[3] counts hash
  KEYS[4] ended index (includes/ended-member.lua: the task lists and retention read it)
  KEYS[5] throughput hash (per-minute counts, includes/count-minute.lua)
  KEYS[6] controls hash (the queues' running counts, `active:<queue>`)
  KEYS[7] wake stream (readers held back by a concurrency cap are woken when a slot frees)
  KEYS[8..] one task hash per task

  ARGV per task (WRITE_WIDTH values, src/redis/protocols/task-writes.ts): task id, lease the caller holds
    (or ''), '1' when progress follows (else '0'), progress (JSON), the handler's result (JSON) or ''

  Returns a list with OK or a status code (includes/codes.lua) per task. A task this lease finished already
  (a resend after a lost reply) is answered OK and not written again.
]]
--@include end-tasks
--@include task-writes-protocol

return end_tasks(KEYS[FINISH_KEY_EVENTS], KEYS[FINISH_KEY_RUNNING], KEYS[FINISH_KEY_COUNTS], KEYS[FINISH_KEY_ENDED_INDEX], KEYS[FINISH_KEY_THROUGHPUT], KEYS[FINISH_KEY_CONTROLS], KEYS[FINISH_KEY_WAKE], FINISH_KEYS + 1, #KEYS, FINISH_HEADER, 'finished')
