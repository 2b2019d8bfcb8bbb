-- claim: move the first eligible queued job to processing under a lease held by A.node.
-- A = {node, lease_s, token, skip = [owners], limit?, now?}
-- Eligible: no owner, or an owner not skipped and holding fewer than `limit` processing jobs
-- (checked here, inside the one atomic step, so several nodes together never overshoot it).
local done = redis.call('GET', k('ct', A.token))
if done then
  -- The same call again after a lost reply: hand out the job it already claimed.
  local held = redis.call('HMGET', k('job', done), 'state', 'lease_owner')
  if held[1] == 'processing' and held[2] == A.node then
    return redis.call('HGETALL', k('job', done))
  end
  return false
end
local now = clock(A.now)
local limit = tonumber(A.limit)
local verdicts = {}
for _, owner in ipairs(A.skip) do
  verdicts[owner] = false
end
local function eligible(owner)
  if not owner then
    return true
  end
  if verdicts[owner] == nil then
    local busy = tonumber(redis.call('HGET', k('busy'), owner) or '0')
    verdicts[owner] = limit == nil or busy < limit
  end
  return verdicts[owner]
end

local function take(id, member, owner)
  local key = k('job', id)
  unindex(id, { state = 'queued', owner = owner, _qm = member })
  local attempts = redis.call('HINCRBY', key, 'attempts', 1)
  local lease_until = num(now + tonumber(A.lease_s))
  redis.call('HSET', key, 'state', 'processing', 'started_at', num(now), 'progress', '0',
    'frames_done', '0', 'lease_owner', A.node, 'lease_until', lease_until)
  local x = { state = 'processing', owner = owner, lease_until = lease_until, attempts = attempts }
  index(id, redis.call('HGET', key, '_seq'), x)
  redis.call('SET', k('ct', A.token), id, 'EX', 300)
  return redis.call('HGETALL', key)
end

local start = 0
while true do
  local batch = redis.call('ZRANGE', k('queue'), start, start + 63)
  if #batch == 0 then
    return false
  end
  for _, member in ipairs(batch) do
    local id = string.sub(member, QUEUE_KEY_CHARS + 1)
    local owner = redis.call('HGET', k('job', id), 'owner') or nil
    if eligible(owner) then
      return take(id, member, owner)
    end
  end
  start = start + #batch
end
