-- read_status: everything a status poll needs in one round trip: the job, its 1-based queue
-- position (or false), and the queued and processing counts. A = {id}
local key = k('job', A.id)
local fields = redis.call('HGETALL', key)
local position = false
local member = redis.call('HGET', key, '_qm')
if member then
  local rank = redis.call('ZRANK', k('queue'), member)
  if rank then
    position = rank + 1
  end
end
return { fields, position, redis.call('ZCARD', k('queue')), redis.call('ZCARD', k('leases')) }
