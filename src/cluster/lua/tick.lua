local offline, now, channel = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local deadList, graceMs = ARGV[4], tonumber(ARGV[5])
if redis.call('HEXISTS', S, 'epoch') == 0 then return {'gone', -1} end
if redis.call('HEXISTS', S, 'deleting') == 1 then return {'deleting', -1} end
if deadList ~= '' then
  local dead = {}
  for n in string.gmatch(deadList, '[^,]+') do dead[n] = true end
  local all = redis.call('HGETALL', M)
  for i = 1, #all, 2 do
    local m = cjson.decode(all[i + 1])
    local was, hs, changed = m.o, holders(m), false
    for _, h in ipairs(hs) do
      if dead[h.n] and h.o == 1 then
        h.o, h.d, changed = 0, now + graceMs, true
      end
    end
    if changed then
      settle(m, hs)
      redis.call('HSET', M, all[i], cjson.encode(m))
      redis.call('ZADD', G, 'LT', now + graceMs, all[i])
      if was == 1 and m.o == 0 then
        redis.call('PUBLISH', channel, envelope('e', 0, '-', '-', '', about(offline, m)))
      end
    end
  end
end
local out = {'ok', -1, -1}
-- Sessions whose grace ended and that are still away: the janitor makes them part (the
-- rule is in TypeScript); a member stays in the grace set until none of its sessions is
-- away, so a failed leave is tried again.
local due = redis.call('ZRANGEBYSCORE', G, '-inf', now)
for _, key in ipairs(due) do
  local cur = redis.call('HGET', M, key)
  local m = cur and cjson.decode(cur)
  local hs = m and holders(m)
  local later = hs and nextGrace(hs)
  if later == nil then
    redis.call('ZREM', G, key)
  else
    local any = false
    for _, h in ipairs(hs) do
      if h.o == 0 and (h.d or 0) <= now then
        any = true
        table.insert(out, key)
        table.insert(out, h.s)
        table.insert(out, m.u)
        table.insert(out, m.i or '')
      end
    end
    if not any then redis.call('ZADD', G, later, key) end
  end
end
local nextAt = -1
local first = redis.call('ZRANGE', G, 0, 0, 'WITHSCORES')
if first[2] then nextAt = tonumber(first[2]) end
-- Since when the room has had no member (noted now if nobody had): whether that makes it
-- due for deletion is the rule's (src/chat/empty-rooms.ts).
if redis.call('HLEN', M) == 0 then
  local since = tonumber(redis.call('HGET', S, 'emptied') or '-1')
  if since < 0 then
    redis.call('HSET', S, 'emptied', now)
    since = now
  end
  out[3] = since
end
out[2] = nextAt
return out
