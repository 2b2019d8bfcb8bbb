-- read_score: jobs scored below A.below (or the server's time) in one index, lowest first.
-- A = {key, limit, below?}
local below = '(' .. num(clock(A.below))
return jobs_of(redis.call('ZRANGE', P .. A.key, '-inf', below, 'BYSCORE', 'LIMIT', 0, A.limit))
