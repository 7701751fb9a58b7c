-- Applies one event to a task's hash. FOLD_FNS (one straight-line function per event type) is generated from
-- src/projections/fold-rules.ts and placed above this function when the script is loaded; src/projections/fold.ts
-- interprets the same rules, so the live projection and a rebuild from the log cannot drift apart.
-- fields are the event's fields by name. prevEvents is the hash's `events` field when the caller has read it
-- already (false when absent), or nil.
local function fold_apply(taskKey, eventId, eventType, fields, prevEvents)
  FOLD_FNS[eventType](taskKey, eventId, fields, prevEvents)
end
