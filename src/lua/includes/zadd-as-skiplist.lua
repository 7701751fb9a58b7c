-- ZADDs (score, member, ...) pairs into a sorted set, making a set that reaches 32 members a skiplist.
-- Below zset-max-listpack-entries members (128 by default) Redis stores a sorted set as a listpack, where
-- each insert walks every member twice to find its place (docs/benchmark-history.md has what that cost at
-- concurrency 64); a skiplist finds it in log time. Redis picks the encoding by itself: a set becomes
-- a skiplist when a member is too long for a listpack, and stays one until it empties and is deleted. So a
-- long member goes in first and comes out after the ZADD, whatever happens to it (a script's writes stay
-- when it fails): no client ever sees it, as nothing runs between the writes. It is longer than any task id
-- (at most 256 characters) and than zset-max-listpack-value (64 by default; set to 512 or more, nothing is
-- converted and such calls pay a ZADD and a ZREM for nothing). Sets that have not reached 32
-- are left as Redis made them: a short walk costs less than making a skiplist for one worker at
-- concurrency 1, which empties its running set on every call. The encoding is checked on each call, as a
-- restart may load the set as a listpack.
--@include call-chunked
local function zadd_as_skiplist(key, pairs)
  local n = #pairs / 2
  if n == 0 then return end
  if (n >= 32 or redis.call('ZCARD', key) + n >= 32) and redis.call('OBJECT', 'ENCODING', key) ~= 'skiplist' then
    local member = string.rep('~', 512)
    redis.call('ZADD', key, 0, member)
    local ok, err = pcall(call_chunked, 'ZADD', key, nil, pairs)
    redis.call('ZREM', key, member)
    if not ok then error(err) end
  else
    call_chunked('ZADD', key, nil, pairs)
  end
end
