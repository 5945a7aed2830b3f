-- A session's connection went away: its hold of the member goes away for its grace. 1: the
-- member went offline (no other session of theirs is online; presence published), 2: the
-- member stays online through another session, 0: nothing to do.
local key, sess, node, deadline, channel, frame = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local cur = redis.call('HGET', M, key)
if not cur then return 0 end
local m = cjson.decode(cur)
local all = holders(m)
local i = find(all, sess)
if not i or all[i].n ~= node or all[i].o == 0 then return 0 end
local was = m.o
all[i].o, all[i].d = 0, tonumber(deadline)
settle(m, all)
redis.call('HSET', M, key, cjson.encode(m))
redis.call('ZADD', G, 'LT', deadline, key)
if was == 1 and m.o == 0 then
  redis.call('PUBLISH', channel, envelope('e', 0, node, '-', '', about(frame, m)))
  return 1
end
return 2
