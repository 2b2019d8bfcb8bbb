-- stream: a Runpod job's `/stream` chunks, shared by every node, handed out once.
-- A = {mode, id, chunk?, percent?, attempt?, max, ttl_s}
-- `reset` (a retried job: a new stream), `start` (an attempt begins: its progress counts from
-- 0), `progress` (recorded when its whole percent is new for its attempt), `final` (once),
-- `clear` (ended without output), `take` (the chunks so far, then none). Records of one
-- attempt reach Redis in any order from different nodes (a poll may record the progress it
-- reads before the start arrives), so an attempt starts over only once, when first seen. `take` passes what the job shows
-- now (`state`, `chunk`): a job whose chunks were never recorded here still ends with its
-- final output exactly once, as the in-memory feed does.
local meta, list = k('stream', A.id), k('streamc', A.id)

local function push(chunk)
  redis.call('RPUSH', list, chunk)
  redis.call('LTRIM', list, -tonumber(A.max), -1)
end

local function start(attempt)
  local stored = redis.call('HMGET', meta, 'percent', 'attempt')
  if attempt > tonumber(stored[2] or '0') then
    redis.call('HSET', meta, 'attempt', attempt, 'percent', -1)
    return -1
  end
  return tonumber(stored[1] or '-1')
end

local function progress(chunk, percent, attempt)
  if redis.call('HGET', meta, 'final') == '1' then
    return
  end
  if percent > start(attempt) then
    redis.call('HSET', meta, 'percent', percent)
    push(chunk)
  end
end

local function final(chunk)
  if redis.call('HSETNX', meta, 'final', '1') == 1 then
    push(chunk)
  end
end

local function keep()
  redis.call('EXPIRE', meta, A.ttl_s)
  redis.call('EXPIRE', list, A.ttl_s)
end

if A.mode == 'reset' then
  redis.call('DEL', meta, list)
  return {}
elseif A.mode == 'start' then
  start(tonumber(A.attempt))
elseif A.mode == 'progress' then
  progress(A.chunk, tonumber(A.percent), tonumber(A.attempt))
elseif A.mode == 'final' then
  final(A.chunk)
elseif A.mode == 'clear' then
  redis.call('DEL', list)
elseif A.mode == 'take' then
  if A.state == 'ended' then
    redis.call('DEL', list)
  elseif A.state == 'processing' and redis.call('LLEN', list) == 0 then
    progress(A.chunk, tonumber(A.percent), tonumber(A.attempt))
  elseif A.state == 'completed' then
    final(A.chunk)
  end
  local chunks = redis.call('LRANGE', list, 0, -1)
  redis.call('DEL', list)
  keep()
  return chunks
end
keep()
return {}
