-- read_idem: the job holding an idempotency key (owner, newline, key), or false. A = {field}
local id = redis.call('HGET', k('idem'), A.field)
if not id then
  return false
end
return redis.call('HGETALL', k('job', id))
