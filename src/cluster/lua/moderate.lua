local room, action, modKey, modSess, key, name = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local now, limit, channel, origin, muteMs = ARGV[7], tonumber(ARGV[8]), ARGV[9], ARGV[10], tonumber(ARGV[11])
local noteTemplate = ARGV[12]
local modCur = redis.call('HGET', M, modKey)
if not modCur then return {'not_member'} end
local mod = cjson.decode(modCur)
if mod.s ~= modSess then return {'not_member'} end
if mod.m ~= 1 then return {'not_moderator'} end
if key == modKey and action ~= 'unban' and action ~= 'unmute' then return {'self'} end
local by = mod.u
local tcur = redis.call('HGET', M, key)
local t = tcur and cjson.decode(tcur)
local shown = (t and t.u) or name
local note, target, lines = nil, '', nil
local count = '-'
local function evict(how)
  redis.call('HDEL', M, key)
  redis.call('ZREM', G, key)
  count = redis.call('HLEN', M)
  if count == 0 then redis.call('HSET', S, 'emptied', now) end
  target = key .. '\t' .. how .. '\t' .. by .. '\t0'
  lines = userFrame('user_left', room, t.u)
end
if action == 'ban' then
  redis.call('HSET', B, key, cjson.encode({username = shown, by = by, at = tonumber(now)}))
  note = fill(noteTemplate, shown, by)
  if t then
    redis.call('HSET', BS, t.b or t.s, key)
    evict('banned')
  end
elseif action == 'kick' then
  if not t then return {'no_user'} end
  note = fill(noteTemplate, t.u, by)
  evict('kicked')
elseif action == 'unban' then
  if redis.call('HDEL', B, key) == 0 then return {'not_banned'} end
  local all = redis.call('HGETALL', BS)
  for i = 1, #all, 2 do
    if all[i + 1] == key then redis.call('HDEL', BS, all[i]) end
  end
  note = fill(noteTemplate, name, by)
elseif action == 'mute' then
  local untilMs = tonumber(now) + muteMs
  redis.call('HSET', U, key, untilMs)
  note = fill(noteTemplate, shown, by)
  target = key .. '\tmuted\t' .. by .. '\t' .. untilMs
elseif action == 'unmute' then
  if redis.call('HDEL', U, key) == 0 then return {'not_muted'} end
  note = fill(noteTemplate, shown, by)
  target = key .. '\tunmuted\t' .. by .. '\t0'
end
local seq, id = append(S, H, limit, room, note, now)
local frame = systemFrame(room, id, note, now)
if lines then frame = lines .. '\n' .. frame end
redis.call('PUBLISH', channel, envelope('s', seq, origin, count, target, frame))
return {'ok', seq, (t and t.s) or '', count, (t and t.o) or -1}
