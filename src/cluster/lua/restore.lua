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
  local all = holders(m)
  local i = find(all, sess)
  if not i then
    -- Another session of the same signed-in user holds it: this one holds it too.
    if userId == nil or m.i ~= userId then return 'taken' end
    table.insert(all, {s = sess, n = node, b = banId, o = 0})
    i = #all
  end
  if all[i].o == 1 and all[i].n == node then return 'ok' end
  local was = m.o
  all[i].o, all[i].n, all[i].d = 1, node, nil
  settle(m, all)
  redis.call('HSET', M, key, cjson.encode(m))
  if nextGrace(holders(m)) == nil then redis.call('ZREM', G, key) end
  if was == 0 then redis.call('PUBLISH', channel, envelope('e', 0, '-', '-', '', online)) end
  return 'ok'
end
local joinSeq = tonumber(redis.call('HGET', S, 'seq'))
redis.call('HSET', M, key, cjson.encode({u = name, n = node, s = sess, b = banId, m = mod, o = 1, j = joinSeq, i = userId}))
redis.call('HDEL', S, 'emptied')
redis.call('PUBLISH', channel,
  envelope('e', 0, '-', redis.call('HLEN', M), '', joined))
return 'ok'
