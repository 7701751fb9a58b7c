--[[
  Marks running tasks failed (a `failed` event each), optionally with final progress, and takes them out of
  the running set. Each task is checked on its own: one refused task does not stop the others. Calls made
  at about the same time are sent together as one call of this script.

  KEYS[1] events stream
  KEYS[2] running set
  KEYS[3] counts hash
  KEYS[4..] one task hash per task

  ARGV per task (4 values): task id, lease the caller holds (or ''), '1' when progress follows (else '0'),
    progress (JSON)

  Returns a list with OK or a status code (includes/codes.lua) per task.
]]
--@include codes
--@include fold
--@include emit
--@include check
--@include count
--@include chunks
--@include end-task

return end_tasks(KEYS[1], KEYS[2], KEYS[3], 4, #KEYS, 0, 'failed')
