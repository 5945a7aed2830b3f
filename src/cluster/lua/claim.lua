-- A resume: the session `old`'s hold of the member passes to `new`, on `node`, online.
-- Returns ok, whether that hold was online (a takeover), its node, name, moderator, the
-- room's seq, members, history and mute end, whether the member was online before, and the
-- room's read markers.
local key, old, new, node, channel, online = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local limit = tonumber(ARGV[7])
local cur = redis.call('HGET', M, key)
if not cur then return {'gone'} end
local m = cjson.decode(cur)
local all = holders(m)
local i = find(all, old)
if not i then return {'gone'} end
local member, was, oldNode = m.o, all[i].o, all[i].n
all[i].o, all[i].n, all[i].s, all[i].d = 1, node, new, nil
settle(m, all)
redis.call('HSET', M, key, cjson.encode(m))
if nextGrace(holders(m)) == nil then redis.call('ZREM', G, key) end
if member == 0 then
  redis.call('PUBLISH', channel, envelope('e', 0, node, '-', '', about(online, m)))
end
return {'ok', was, oldNode, m.u, m.m, tonumber(redis.call('HGET', S, 'seq')),
  redis.call('HVALS', M), redis.call('LRANGE', H, -limit, -1), redis.call('HGET', U, key) or '0', member,
  redis.call('HGETALL', R)}
