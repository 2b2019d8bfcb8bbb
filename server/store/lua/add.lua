-- add: insert a queued job, applying its idempotency key and the queue bound in one step.
-- A = {id, set, unset, index, token, max_queued?}
-- Returns {1} created, {0, fields} an existing job, {-1, queued} the queue is full.
local x = A.index
local key = k('job', A.id)
if redis.call('EXISTS', key) == 1 then
  -- The same call again (the client retried after a lost reply): it was created.
  if redis.call('HGET', key, '_w') == A.token then
    return { 1 }
  end
  return { 0, redis.call('HGETALL', key) }
end
if x.idem then
  local existing = redis.call('HGET', k('idem'), x.idem)
  if existing then
    return { 0, redis.call('HGETALL', k('job', existing)) }
  end
end
if A.max_queued then
  local queued = redis.call('ZCARD', k('queue'))
  if queued >= tonumber(A.max_queued) then
    return { -1, queued }
  end
end
local seq = redis.call('INCR', k('seq'))
write(A.id, A.set, A.unset)
redis.call('HSET', key, '_seq', seq, '_w', A.token)
index(A.id, seq, x)
if x.idem then
  redis.call('HSET', k('idem'), x.idem, A.id)
end
return { 1 }
