-- A chat message: the hot path, kept lean. The member's session is matched in its stored
-- JSON without decoding it; the stored message and the frame come from TypeScript, with
-- the byte 0x01 where the id goes.
local key, sess, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
local stored, frame, now = ARGV[4], ARGV[5], ARGV[6]
local cur = redis.call('HGET', M, key)
if not cur or not string.find(cur, '"s":"' .. sess .. '"', 1, true) then return {'not_member'} end
local mute = redis.call('HGET', U, key)
if mute then
  if tonumber(mute) > tonumber(now) then return {'muted'} end
  redis.call('HDEL', U, key)
end
-- A reply: the message it replies to (ARGV[9], an id) must be one of the last `limit` kept.
local reply = ARGV[9]
if reply ~= '' then
  local back = tonumber(redis.call('HGET', S, 'seq') or '0') - tonumber(reply)
  if tonumber(reply) < 1 or back < 0 or back >= limit then return {'no_reply'} end
  local entry = redis.call('LINDEX', H, -(back + 1))
  if not entry or not string.find(entry, '"id":"' .. reply .. '"', 1, true) then return {'no_reply'} end
end
local seq = redis.call('HINCRBY', S, 'seq', 1)
local id = string.format('%012d', seq)
trim(H, redis.call('RPUSH', H, (string.gsub(stored, '\1', id, 1))), limit, X, seq)
redis.call('PUBLISH', ARGV[7], envelope('s', seq, ARGV[8], '-', '', (string.gsub(frame, '\1', id, 1))))
return {'ok', seq}
