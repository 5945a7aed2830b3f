local room, key, sess, limit, now = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local channel, origin, leftNote = ARGV[6], ARGV[7], ARGV[8]
local cur = redis.call('HGET', M, key)
if not cur then return {'gone'} end
local m = cjson.decode(cur)
if m.s ~= sess then return {'gone'} end
redis.call('HDEL', M, key)
redis.call('ZREM', G, key)
local seq = append(S, H, limit, room, fill(leftNote, m.u), now)
local count = redis.call('HLEN', M)
if count == 0 then redis.call('HSET', S, 'emptied', now) end
redis.call('PUBLISH', channel, envelope('s', seq, origin, count, '', userFrame('user_left', room, m.u)))
return {'ok', seq, count}
