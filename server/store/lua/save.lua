-- save: compare-and-set of a whole job on its state (and lease owner), with its outbox rows.
-- A = {id, expect = [states], set, unset, index, outbox = [rows], token, lease_owner?}
-- Bodies of the outbox rows are ARGV[3 ..]. Returns 1 when written, 0 when the CAS failed.
local key = k('job', A.id)
local old = redis.call('HMGET', key, 'state', 'owner', 'lease_owner', '_w', '_seq', '_qm')
if not old[1] then
  return 0
end
if old[4] == A.token then
  return 1 -- the same call again after a lost reply: it was written
end
local expected = false
for _, state in ipairs(A.expect) do
  if state == old[1] then
    expected = true
  end
end
if not expected or (A.lease_owner and old[3] ~= A.lease_owner) then
  return 0
end
unindex(A.id, { state = old[1], owner = old[2] or nil, _qm = old[6] or nil })
if old[2] and old[2] ~= A.index.owner then
  redis.call('ZREM', k('ow', old[2]), A.id)
end
write(A.id, A.set, A.unset)
redis.call('HSET', key, '_w', A.token)
index(A.id, old[5], A.index)
insert_deliveries(A.outbox, 3)
return 1
