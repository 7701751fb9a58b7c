-- A task's member in the ended index (`{ns}:ended-by-queue`, docs/architecture.md §4): every ended task
-- once, as `<status>:<queue bytes>:<queue>:<ended ms, 15 digits>:<task id>`, all scored 0, so that
-- ZRANGEBYLEX pages one queue's tasks of one status in the order they ended (projections/task-list.ts)
-- without reading the log. The end time is the task's finishedAt (its score in its status's ended set).
-- The queue's length in bytes keeps one queue's members from falling within another's prefix. `at` is a
-- string of digits, as Redis gives it (tostring would write a large number in exponent form).
-- src/projections/ended-index.ts builds the same members. Needs nothing.
local function ended_member(status, queue, at, taskId)
  return status .. ':' .. #queue .. ':' .. queue .. ':' .. string.rep('0', 15 - #at) .. at .. ':' .. taskId
end
