-- ZADDs (score, member, ...) pairs into a sorted set, keeping a set of 32 members or more encoded as a
-- skiplist. Below zset-max-listpack-entries members (128 by default) Redis stores a sorted set as a
-- listpack, where each insert walks every member twice to find its place (about 20,000 Redis instructions
-- per started task with 64 tasks running); a skiplist finds it in log time. Redis picks the encoding by
-- itself: a set is made a skiplist when a member is too long for a listpack, and stays one (until it
-- empties and is deleted). So a long member goes in first and is removed after the ZADD: no client ever
-- sees it, as nothing runs between the writes. It is longer than any task id (at most 256 characters)
-- and than zset-max-listpack-value (64 by default). Smaller sets are left alone: a short walk costs less
-- than a skiplist made for one worker at concurrency 1, whose running set empties on every call. The
-- encoding is checked on each call, as a restart may load the set as a listpack. Needs includes/chunks.lua.
local function zadd_as_skiplist(key, pairs)
  if #pairs == 0 then return end
  if redis.call('ZCARD', key) + #pairs / 2 >= 32 and redis.call('OBJECT', 'ENCODING', key) ~= 'skiplist' then
    local member = string.rep('~', 512)
    redis.call('ZADD', key, 0, member)
    call_chunked('ZADD', key, nil, pairs)
    redis.call('ZREM', key, member)
  else
    call_chunked('ZADD', key, nil, pairs)
  end
end
