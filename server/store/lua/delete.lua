-- delete: jobs with every index entry and outbox row of theirs. A = {ids}. Returns the count.
local deleted = 0
for _, id in ipairs(A.ids) do
  local key = k('job', id)
  local j = hash(key)
  if j.state then
    unindex(id, j)
    redis.call('ZREM', k('all'), id)
    if j.owner then
      redis.call('ZREM', k('ow', j.owner), id)
    end
    if j.idempotency_key then
      local field = (j.owner or '') .. '\n' .. j.idempotency_key
      if redis.call('HGET', k('idem'), field) == id then
        redis.call('HDEL', k('idem'), field)
      end
    end
    redis.call('SREM', k('retried'), id)
    redis.call('DEL', key)
    deleted = deleted + 1
  end
  local pending = redis.call('LRANGE', k('obq', id), 0, -1)
  for _, d in ipairs(pending) do
    redis.call('ZREM', k('obdue'), d)
    redis.call('DEL', k('ob', d))
  end
  if #pending > 0 then
    redis.call('DECRBY', k('obpending'), #pending)
  end
  for _, d in ipairs(redis.call('SMEMBERS', k('obdead', id))) do
    redis.call('DEL', k('ob', d))
  end
  redis.call('DEL', k('obq', id), k('obdead', id))
end
return deleted
