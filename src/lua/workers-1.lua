--[[
  A worker's heartbeat in the namespace's worker registry (docs/architecture.md §20): records it alive until
  now + ttl (Redis clock), drops the workers whose time ran out, and returns those alive, by which the
  partitions are shared out.

  KEYS[1] {ns}:workers   (partition 0: namespace-wide)
  ARGV[1] the worker's id
  ARGV[2] ttl ms; 0 removes the worker (it is closing)

  Returns the ids of the live workers.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
if ttl > 0 then
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
else
  redis.call('ZREM', KEYS[1], ARGV[1])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZRANGE', KEYS[1], 0, -1)
