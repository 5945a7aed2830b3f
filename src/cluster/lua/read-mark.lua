-- A read marker (src/chat/read-markers.ts): the member `key`, held by session `sess`, has
-- read the room up to the sequence number `id`. The marker only moves forward; one left by
-- someone else who had the name before (another owner) counts as none. Then whether the
-- room hears of it: `now` (and a window of `window` ms starts), `later` (at the end of the
-- window, with whatever the marker says then) or `quiet` (more than `most` members).
local key, sess, id, now = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local window, most = tonumber(ARGV[5]), tonumber(ARGV[6])
local cur = redis.call('HGET', M, key)
if not cur then return {'not_member', 0} end
local m = cjson.decode(cur)
if not find(holders(m), sess) then return {'not_member', 0} end
if id < 1 or id > tonumber(redis.call('HGET', S, 'seq') or '0') then return {'beyond', 0} end
local owner = m.b or m.s
if type(m.i) == 'string' then owner = 'user:' .. m.i end
local raw = redis.call('HGET', R, key)
local mark = raw and cjson.decode(raw) or nil
if mark and mark.o ~= owner then mark = nil end
if mark and id <= mark.r then return {'old', 0} end
mark = mark or {o = owner}
mark.r = id
local send, at = 'quiet', 0
if redis.call('HLEN', M) <= most then
  if mark.p == 1 then
    send, at = 'later', mark.t + window
  elseif mark.t == nil or now - mark.t >= window then
    send, mark.t = 'now', now
  else
    send, at, mark.p = 'later', mark.t + window, 1
  end
end
redis.call('HSET', R, key, cjson.encode(mark))
return {send, at}
