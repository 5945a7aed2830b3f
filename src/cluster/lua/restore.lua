-- The frames come from TypeScript: ARGV[7] the member's presence online, ARGV[10] user_joined;
-- ARGV[11] the member's user id ('' when anonymous).
local key, name, node, sess = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local mod, online, channel, banId, joined = tonumber(ARGV[6]), ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local userId = ARGV[11]
if userId == '' then userId = nil end
if not live(S) then return 'room_not_found' end
local cur = redis.call('HGET', M, key)
if cur then
  local m = cjson.decode(cur)
  if m.s ~= sess then return 'taken' end
  if m.o == 1 and m.n == node then return 'ok' end
  m.o, m.n = 1, node
  redis.call('HSET', M, key, cjson.encode(m))
  redis.call('ZREM', G, key)
  redis.call('PUBLISH', channel, envelope('e', 0, '-', '-', '', online))
  return 'ok'
end
local joinSeq = tonumber(redis.call('HGET', S, 'seq'))
redis.call('HSET', M, key, cjson.encode({u = name, n = node, s = sess, b = banId, m = mod, o = 1, j = joinSeq, i = userId}))
redis.call('HDEL', S, 'emptied')
redis.call('PUBLISH', channel,
  envelope('e', 0, '-', redis.call('HLEN', M), '', joined))
return 'ok'
