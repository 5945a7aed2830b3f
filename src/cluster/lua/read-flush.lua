-- The trailing `read` of a window (src/chat/read-markers.ts): a marker that waits to be
-- told is told once its window is over, and a new window starts. Any node may ask; the
-- first to ask after the window wins, the others get `none`.
local key, now, window = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local raw = redis.call('HGET', R, key)
if not raw then return {'none', 0} end
local mark = cjson.decode(raw)
if mark.p ~= 1 then return {'none', 0} end
local cur = redis.call('HGET', M, key)
local m = cur and cjson.decode(cur) or nil
local owner = m and (m.b or m.s)
if m and type(m.i) == 'string' then owner = 'user:' .. m.i end
if owner ~= mark.o then
  -- The member left meanwhile: nothing to tell.
  mark.p = nil
  redis.call('HSET', R, key, cjson.encode(mark))
  return {'none', 0}
end
if now - mark.t < window then return {'later', mark.t + window} end
mark.p, mark.t = nil, now
redis.call('HSET', R, key, cjson.encode(mark))
return {'send', mark.r}
