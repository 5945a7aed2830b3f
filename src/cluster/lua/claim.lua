local key, old, new, node, channel, online = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local limit = tonumber(ARGV[7])
local cur = redis.call('HGET', M, key)
if not cur then return {'gone'} end
local m = cjson.decode(cur)
if m.s ~= old then return {'gone'} end
local was, oldNode = m.o, m.n
m.o, m.n, m.s = 1, node, new
redis.call('HSET', M, key, cjson.encode(m))
redis.call('ZREM', G, key)
if was == 0 then
  redis.call('PUBLISH', channel, envelope('e', 0, node, '-', '', about(online, m)))
end
return {'ok', was, oldNode, m.u, m.m, tonumber(redis.call('HGET', S, 'seq')),
  redis.call('HVALS', M), redis.call('LRANGE', H, -limit, -1), redis.call('HGET', U, key) or '0'}
