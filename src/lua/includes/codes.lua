-- Status codes every transition script returns; src/errors.ts maps them to error classes (LuaCode).
-- The one include of constants rather than a function (the *-protocol includes are generated ones).
-- Needs nothing.
local OK = 1
local NOT_FOUND = -1
local NOT_RUNNING = -2
local CANCELLED = -3
local FINISHED = -4
local FAILED = -5
local LEASE_LOST = -6
local QUEUE_CHANGED = -7
local RUNNING = -8

-- The error code for a task that is not in the status a transition needs.
local STATUS_CODE = { waiting = NOT_RUNNING, cancelled = CANCELLED, finished = FINISHED, failed = FAILED }

-- The highest priority level (src/redis/keys.ts MAX_PRIORITY; a test checks they agree).
local MAX_PRIORITY = 9
