-- outbox_finish: a delivery sent (`done`), to try again later (`retry`) or given up (`dead`).
-- A = {id, mode, attempts?, retry_in_s?, now?, error?}; a retry is due by the server's clock.
local key = k('ob', A.id)
local d = redis.call('HMGET', key, 'job_id', 'state')
if not d[1] or d[2] ~= 'pending' then
  return 0
end
local job_id = d[1]
if A.mode == 'retry' then
  local due = num(clock(A.now) + tonumber(A.retry_in_s))
  redis.call('HSET', key, 'attempts', A.attempts, 'next_attempt_at', due, 'last_error', A.error)
  redis.call('HDEL', key, 'lease_owner', 'lease_until')
  if redis.call('LINDEX', k('obq', job_id), 0) == A.id then
    redis.call('ZADD', k('obdue'), due, A.id)
  end
  return 1
end
redis.call('LREM', k('obq', job_id), 1, A.id)
redis.call('ZREM', k('obdue'), A.id)
redis.call('DECR', k('obpending'))
if A.mode == 'done' then
  redis.call('DEL', key) -- nothing will send it again
else
  redis.call('HSET', key, 'state', 'dead', 'attempts', A.attempts, 'last_error', A.error,
    'body', '')
  redis.call('HDEL', key, 'lease_owner', 'lease_until')
  redis.call('SADD', k('obdead', job_id), A.id) -- kept for operators until the job goes
end
promote(job_id)
return 1
