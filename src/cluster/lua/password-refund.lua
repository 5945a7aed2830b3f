if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local tokens = tonumber(redis.call('HGET', KEYS[1], 'tokens')) + 1
if tokens > tonumber(ARGV[1]) then tokens = tonumber(ARGV[1]) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens))
return 1
