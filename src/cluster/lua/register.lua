if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 'exists' end
if ARGV[4] ~= '1' and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return 'limit' end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 'ok'
