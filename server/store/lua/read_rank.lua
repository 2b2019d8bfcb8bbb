-- read_rank: jobs by rank in one index (A.key after the prefix), newest first when A.rev;
-- members of the queue carry their sort key before the id. A = {key, start, stop, rev?, queue?}
local members
if A.rev then
  members = redis.call('ZREVRANGE', P .. A.key, A.start, A.stop)
else
  members = redis.call('ZRANGE', P .. A.key, A.start, A.stop)
end
if A.queue then
  for i, member in ipairs(members) do
    members[i] = string.sub(member, QUEUE_KEY_CHARS + 1)
  end
end
return jobs_of(members)
