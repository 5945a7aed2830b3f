-- A room's history list keeps up to this many entries past HISTORY_LIMIT before it is
-- trimmed (one LTRIM per that many entries, not one per entry); readers take the last
-- HISTORY_LIMIT entries. The list holds the sequence without a gap, so its last entry is
-- `last` (the room's seq) and the trimmed ones are the oldest; what the hash X keeps about
-- them (the reactions in full, `r<seq>`) goes with them.
local HISTORY_SLACK = 64
local function trim(H, length, limit, X, last)
  if length <= limit + HISTORY_SLACK then return end
  redis.call('LTRIM', H, -limit, -1)
  local fields = {}
  for s = last - length + 1, last - limit do
    table.insert(fields, 'r' .. s)
  end
  if #fields > 0 then redis.call('HDEL', X, unpack(fields)) end
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
-- The sessions that hold a member (one, or a signed-in user's tabs and devices): the
-- record's own (`s`, `n`, `b`, `o`, `d`: session, node, ban identity, online, end of its
-- grace when away) and those in `x`. `settle` keeps an online one on the record, so the
-- record's `o` says whether the member is online.
local function holders(m)
  local all = {{s = m.s, n = m.n, b = m.b, o = m.o, d = m.d}}
  for _, h in ipairs(m.x or {}) do table.insert(all, h) end
  return all
end
local function settle(m, all)
  local first = 1
  for i, h in ipairs(all) do
    if h.o == 1 then
      first = i
      break
    end
  end
  local p = table.remove(all, first)
  m.s, m.n, m.b, m.o, m.d = p.s, p.n, p.b, p.o, p.d
  if #all > 0 then m.x = all else m.x = nil end
end
-- The index in `all` of the holder that is session `sess`, or nil.
local function find(all, sess)
  for i, h in ipairs(all) do
    if h.s == sess then return i end
  end
  return nil
end
-- The earliest grace end of the member's away holders, or nil when none is away.
local function nextGrace(all)
  local at
  for _, h in ipairs(all) do
    if h.o == 0 and (at == nil or (h.d or 0) < at) then at = h.d or 0 end
  end
  return at
end
