-- heartbeat: renew A.node's leases and record progress; return the ids it no longer holds.
-- A = {node, lease_s, items = [[id, progress, frames_done, frames_total], ...], now?}
local now = clock(A.now)
local lease_until = num(now + tonumber(A.lease_s))
local lost = {}
for _, item in ipairs(A.items) do
  local id = item[1]
  local key = k('job', id)
  local held = redis.call('HMGET', key, 'state', 'lease_owner')
  if held[1] == 'processing' and held[2] == A.node then
    redis.call('HSET', key, 'lease_until', lease_until, 'progress', item[2],
      'frames_done', item[3], 'frames_total', item[4])
    redis.call('ZADD', k('leases'), lease_until, id)
  else
    lost[#lost + 1] = id
  end
end
return lost
