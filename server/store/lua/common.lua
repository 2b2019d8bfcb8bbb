-- Shared by every script: ARGV[1] is the key prefix, ARGV[2] a JSON payload whose numbers
-- travel as text (exact), ARGV[3..] binary values (webhook bodies).
local P = ARGV[1]
local A = cjson.decode(ARGV[2])
-- A queue member: this many characters of sort key (redis_codec.queue_key), then the id.
local QUEUE_KEY_CHARS = 41

local function k(...)
  return P .. table.concat({ ... }, ':')
end

-- The caller's time, or the server's: every node judges leases by one clock.
local function clock(given)
  if given ~= nil and given ~= '' then
    return tonumber(given)
  end
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end

-- %.17g round-trips a double exactly (tostring keeps only 14 digits).
local function num(x)
  return string.format('%.17g', x)
end

-- Fixed width, so that byte order is numeric order (queue ties, delivery ids).
local function seqtext(n)
  return string.format('%016d', n)
end

local function hash(key)
  local flat = redis.call('HGETALL', key)
  local out = {}
  for i = 1, #flat, 2 do
    out[flat[i]] = flat[i + 1]
  end
  return out
end

-- Drop a job from the indexes of its state. `j` holds its stored state, owner and _qm.
local function unindex(id, j)
  redis.call('ZREM', k('st', j.state), id)
  if j.owner then
    redis.call('ZREM', k('os', j.state, j.owner), id)
  end
  if j.state == 'queued' then
    if j._qm then
      redis.call('ZREM', k('queue'), j._qm)
    end
    redis.call('ZREM', k('expiry'), id)
  elseif j.state == 'processing' then
    redis.call('ZREM', k('leases'), id)
    if j.owner and redis.call('HINCRBY', k('busy'), j.owner, -1) <= 0 then
      redis.call('HDEL', k('busy'), j.owner)
    end
  else
    redis.call('ZREM', k('finished'), id)
  end
end

-- Add a job to the indexes of its state. `x` is the codec's `index_of` (or the claim's own):
-- state, owner, qp (queue sort key), lease_until, finished_at, expires_at, attempts.
local function index(id, seq, x)
  redis.call('ZADD', k('all'), seq, id)
  redis.call('ZADD', k('st', x.state), seq, id)
  if x.owner then
    redis.call('ZADD', k('ow', x.owner), seq, id)
    redis.call('ZADD', k('os', x.state, x.owner), seq, id)
  end
  if x.state == 'queued' then
    -- Sort key, then the insertion sequence: a requeued job keeps both, so it goes back to
    -- its old place; the id at the end makes members unique.
    local member = x.qp .. seqtext(seq) .. id
    redis.call('ZADD', k('queue'), 0, member)
    redis.call('HSET', k('job', id), '_qm', member)
    if x.expires_at then
      redis.call('ZADD', k('expiry'), x.expires_at, id)
    end
  else
    redis.call('HDEL', k('job', id), '_qm')
    if x.state == 'processing' then
      redis.call('ZADD', k('leases'), x.lease_until or 0, id)
      if x.owner then
        redis.call('HINCRBY', k('busy'), x.owner, 1)
      end
    elseif x.finished_at then
      redis.call('ZADD', k('finished'), x.finished_at, id)
    end
  end
  if tonumber(x.attempts) > 1 then
    redis.call('SADD', k('retried'), id)
  else
    redis.call('SREM', k('retried'), id)
  end
end

-- Write a job's attribute fields: `set` to store, `unset` (None) to delete.
local function write(id, set, unset)
  local key = k('job', id)
  local flat = {}
  for name, value in pairs(set) do
    flat[#flat + 1] = name
    flat[#flat + 1] = value
  end
  redis.call('HSET', key, unpack(flat))
  if #unset > 0 then
    redis.call('HDEL', key, unpack(unset))
  end
end

-- Make the oldest pending delivery of a job due (a job's later events wait for it).
local function promote(job_id)
  local head = redis.call('LINDEX', k('obq', job_id), 0)
  if head then
    local d = redis.call('HMGET', k('ob', head), 'next_attempt_at', 'lease_until')
    local due = tonumber(d[1])
    if d[2] and tonumber(d[2]) > due then
      due = tonumber(d[2])
    end
    redis.call('ZADD', k('obdue'), due, head)
  end
end

-- Outbox rows written with the change that caused them; bodies are ARGV[first ..].
local function insert_deliveries(rows, first)
  for i, row in ipairs(rows) do
    local id = seqtext(redis.call('INCR', k('obseq')))
    local flat = { 'id', id, 'state', 'pending', 'body', ARGV[first + i - 1] }
    for name, value in pairs(row) do
      flat[#flat + 1] = name
      flat[#flat + 1] = value
    end
    redis.call('HSET', k('ob', id), unpack(flat))
    if redis.call('RPUSH', k('obq', row.job_id), id) == 1 then
      redis.call('ZADD', k('obdue'), row.next_attempt_at, id)
    end
    redis.call('INCR', k('obpending'))
  end
end

-- The hashes (flat) of the jobs among `ids` that still exist, in the same order.
local function jobs_of(ids)
  local out = {}
  for _, id in ipairs(ids) do
    local fields = redis.call('HGETALL', k('job', id))
    if #fields > 0 then
      out[#out + 1] = fields
    end
  end
  return out
end
