local function encode(s) return cjson.encode(s) end
local function append(S, H, limit, room, note, now)
  local seq = redis.call('HINCRBY', S, 'seq', 1)
  local id = string.format('%012d', seq)
  redis.call('RPUSH', H, '{"id":"' .. id .. '","type":"system","sender":"system","content":' ..
    encode(note) .. ',"timestamp":' .. now .. ',"room_id":' .. encode(room) .. '}')
  redis.call('LTRIM', H, -limit, -1)
  return seq, id
end
local function systemFrame(room, id, note, now)
  return '{"type":"system","room":' .. encode(room) .. ',"id":"' .. id .. '","content":' ..
    encode(note) .. ',"ts":' .. now .. '}'
end
local function userFrame(kind, room, name)
  return '{"type":"' .. kind .. '","room":' .. encode(room) .. ',"username":' .. encode(name) .. '}'
end
local function presenceFrame(room, name, status)
  return '{"type":"presence","room":' .. encode(room) .. ',"username":' .. encode(name) ..
    ',"status":"' .. status .. '"}'
end
local function envelope(kind, seq, origin, count, target, payload)
  return kind .. '|' .. seq .. '|' .. origin .. '|' .. count .. '|' .. target .. '|' .. payload
end
-- A note's template from TypeScript (src/domain/notes.ts) with its blanks filled: the byte
-- 0x01 by `name`, 0x02 by `by`.
local function fill(template, name, by)
  local out = string.gsub(template, '\1', function() return name end)
  out = string.gsub(out, '\2', function() return by or '' end)
  return out
end
local function live(S)
  return redis.call('HEXISTS', S, 'epoch') == 1 and redis.call('HEXISTS', S, 'deleting') == 0
end
