local key, sess, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
local room, sender, content, now = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local cur = redis.call('HGET', M, key)
if not cur or not string.find(cur, '"s":"' .. sess .. '"', 1, true) then return {'not_member'} end
local mute = redis.call('HGET', U, key)
if mute then
  if tonumber(mute) > tonumber(now) then return {'muted'} end
  redis.call('HDEL', U, key)
end
local seq = redis.call('HINCRBY', S, 'seq', 1)
local id = string.format('%012d', seq)
redis.call('RPUSH', H, '{"id":"' .. id .. '","type":"text","sender":' .. sender .. ',"content":' ..
  content .. ',"timestamp":' .. now .. ',"room_id":' .. room .. '}')
redis.call('LTRIM', H, -limit, -1)
redis.call('PUBLISH', ARGV[8], envelope('s', seq, ARGV[9], '-', '', '{"type":"message","room":' ..
  room .. ',"id":"' .. id .. '","sender":' .. sender .. ',"content":' .. content .. ',"ts":' .. now .. '}'))
return {'ok', seq}
