-- nodes: the registry, judged by the server's clock. A = {mode, id?, info?, ttl_s?}
-- `beat` registers or renews a node, `gone` removes it, `list` drops the expired and returns
-- {id, info, seen_at} of each live one.
local now = clock(nil)
local live, seen, info = k('nodes', 'until'), k('nodes', 'seen'), k('nodes', 'info')
if A.mode == 'beat' then
  redis.call('HSET', info, A.id, A.info)
  redis.call('ZADD', live, num(now + tonumber(A.ttl_s)), A.id)
  redis.call('ZADD', seen, num(now), A.id)
  return 1
end
local gone = { A.id }
if A.mode == 'list' then
  gone = redis.call('ZRANGE', live, '-inf', num(now), 'BYSCORE')
end
for _, id in ipairs(gone) do
  redis.call('HDEL', info, id)
  redis.call('ZREM', live, id)
  redis.call('ZREM', seen, id)
end
if A.mode == 'gone' then
  return 1
end
local out = {}
for _, id in ipairs(redis.call('ZRANGE', live, 0, -1)) do
  out[#out + 1] = { id, redis.call('HGET', info, id), redis.call('ZSCORE', seen, id) }
end
return out
