local key, sess, node, deadline, channel, frame = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local cur = redis.call('HGET', M, key)
if not cur then return 0 end
local m = cjson.decode(cur)
if m.s ~= sess or m.n ~= node or m.o == 0 then return 0 end
m.o = 0
redis.call('HSET', M, key, cjson.encode(m))
redis.call('ZADD', G, deadline, key)
redis.call('PUBLISH', channel, envelope('e', 0, node, '-', '', about(frame, m)))
return 1
