local room, key, name, node, sess, mod = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
local maxUsers, limit, now, channel = tonumber(ARGV[7]), tonumber(ARGV[8]), ARGV[9], ARGV[10]
local banId, note = ARGV[11], ARGV[12]
if not live(S) then return {'room_not_found'} end
if redis.call('HEXISTS', B, key) == 1 or redis.call('HEXISTS', BS, banId) == 1 then
  return {'banned'}
end
local cur = redis.call('HGET', M, key)
if cur then
  local m = cjson.decode(cur)
  if m.s ~= sess then return {'username_taken'} end
  return {'again', tonumber(redis.call('HGET', S, 'seq')), redis.call('HVALS', M),
    redis.call('LRANGE', H, 0, -1), redis.call('HGET', U, key) or '0'}
end
if redis.call('HLEN', M) >= maxUsers then return {'room_full'} end
local seq = append(S, H, limit, room, note, now)
redis.call('HSET', M, key, cjson.encode({u = name, n = node, s = sess, b = banId, m = mod, o = 1, j = seq}))
redis.call('HDEL', S, 'emptied')
redis.call('PUBLISH', channel,
  envelope('s', seq, node, redis.call('HLEN', M), '', userFrame('user_joined', room, name)))
return {'ok', seq, redis.call('HVALS', M), redis.call('LRANGE', H, 0, -1), redis.call('HGET', U, key) or '0'}
