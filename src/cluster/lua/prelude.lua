-- A room's history list keeps up to this many entries past HISTORY_LIMIT before it is
-- trimmed (one LTRIM per that many messages, not one per message); readers take the last
-- HISTORY_LIMIT entries.
local HISTORY_SLACK = 64
local function trim(H, length, limit)
  if length > limit + HISTORY_SLACK then redis.call('LTRIM', H, -limit, -1) end
end
local function encode(s) return cjson.encode(s) end
-- A frame from TypeScript with the byte 0x01 where a name read here goes, as a JSON string.
local function named(frame, name)
  return (string.gsub(frame, '\1', function() return encode(name) end))
end
-- A frame about the member `m` from TypeScript, with the byte 0x02 where its user id goes
-- (`,"user_id":…`, or nothing for an anonymous member).
local function withUser(frame, m)
  local part = ''
  if type(m.i) == 'string' then part = ',"user_id":' .. encode(m.i) end
  return (string.gsub(frame, '\2', function() return part end))
end
-- A presence frame about the member `m`: their name and user id put in.
local function about(frame, m)
  return withUser(named(frame, m.u), m)
end
local function envelope(kind, seq, origin, count, target, payload)
  return kind .. '|' .. seq .. '|' .. origin .. '|' .. count .. '|' .. target .. '|' .. payload
end
local function live(S)
  return redis.call('HEXISTS', S, 'epoch') == 1 and redis.call('HEXISTS', S, 'deleting') == 0
end
