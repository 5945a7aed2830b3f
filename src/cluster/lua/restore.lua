-- ARGV[7] (now) is not used here.
local room, key, name, node, sess = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local mod, channel, banId = tonumber(ARGV[6]), ARGV[8], ARGV[9]
if not live(S) then return 'room_not_found' end
local cur = redis.call('HGET', M, key)
if cur then
  local m = cjson.decode(cur)
  if m.s ~= sess then return 'taken' end
  if m.o == 1 and m.n == node then return 'ok' end
  m.o, m.n = 1, node
  redis.call('HSET', M, key, cjson.encode(m))
  redis.call('ZREM', G, key)
  redis.call('PUBLISH', channel, envelope('e', 0, '-', '-', '', presenceFrame(room, name, 'online')))
  return 'ok'
end
local joinSeq = tonumber(redis.call('HGET', S, 'seq'))
redis.call('HSET', M, key, cjson.encode({u = name, n = node, s = sess, b = banId, m = mod, o = 1, j = joinSeq}))
redis.call('HDEL', S, 'emptied')
redis.call('PUBLISH', channel,
  envelope('e', 0, '-', redis.call('HLEN', M), '', userFrame('user_joined', room, name)))
return 'ok'
