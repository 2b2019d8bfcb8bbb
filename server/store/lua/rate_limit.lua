-- rate_limit: take one token from a caller's bucket, judged by the server's clock, so every
-- node draws on the same bucket. A = {caller, rate, burst, now?}
-- Returns 0 when a token was taken, else whole seconds until one is free (>= 1).
local now = clock(A.now)
local key = k('rate', A.caller)
local rate, burst = tonumber(A.rate), tonumber(A.burst)
local stored = redis.call('HMGET', key, 'tokens', 'updated')
local tokens = burst
if stored[1] then
  tokens = math.min(burst, tonumber(stored[1]) + math.max(0, now - tonumber(stored[2])) * rate)
end
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.max(1, math.ceil((1 - tokens) / rate))
end
redis.call('HSET', key, 'tokens', num(tokens), 'updated', num(now))
-- A bucket left alone refills; once full it holds nothing worth keeping.
redis.call('PEXPIRE', key, math.ceil(burst / rate * 1000) + 1000)
return wait
