-- outbox_claim: due deliveries, at most one per job (only a job's oldest pending one is in
-- `obdue`), leased to A.node, in (due time, id) order. A = {node, limit, lease_s, now?}
local now = clock(A.now)
local limit = tonumber(A.limit)
local lease_until = num(now + tonumber(A.lease_s))
local taken, out = {}, {}
local offset = 0
while #out < limit do
  local batch = redis.call('ZRANGE', k('obdue'), '-inf', num(now), 'BYSCORE', 'LIMIT', offset, 64)
  if #batch == 0 then
    break
  end
  for _, id in ipairs(batch) do
    local key = k('ob', id)
    local d = redis.call('HMGET', key, 'next_attempt_at', 'lease_until')
    if tonumber(d[1]) <= now and (not d[2] or tonumber(d[2]) < now) then
      redis.call('HSET', key, 'lease_owner', A.node, 'lease_until', lease_until)
      taken[#taken + 1] = id
      out[#out + 1] = redis.call('HGETALL', key)
      if #out >= limit then
        break
      end
    end
  end
  offset = offset + #batch
end
-- Leased ones are due again only when the lease runs out (rescored after the scan, so the
-- scan's offsets stay valid).
for _, id in ipairs(taken) do
  redis.call('ZADD', k('obdue'), lease_until, id)
end
return out
