/**
 * The Lua scripts that change shared state. Each runs atomically in Redis and touches the
 * keys of one room only (one hash tag), except `register`, which touches only the registry.
 *
 * Every script that stores a message also publishes it, in the same step: the sequence
 * number, the history and the delivery order are one thing, the same on every node.
 *
 * Envelope of a room channel message: `kind|seq|origin|count|target|payload`, where
 *   kind    `s` sequenced (stored in the history, delivered in seq order, gaps filled),
 *           `e` an event (presence, typing: not stored; the origin node delivered it itself),
 *           `d` the room was deleted;
 *   seq     the message sequence (`0` for events);
 *   origin  the node that published it (`-`: every node delivers, the origin too);
 *   count   the room's member count after the change (`-`: unchanged);
 *   target  for moderation, `userkey\thow\tby\tuntil`: the node holding that member acts on it;
 *   payload one or more server frames as JSON, one per line, sent to the room in order.
 */

/** Helpers prepended to every script. */
const PRELUDE = `
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
local function live(S)
  return redis.call('HEXISTS', S, 'epoch') == 1 and redis.call('HEXISTS', S, 'deleting') == 0
end
`

/** Keys of the per-room scripts, in order: state, members, history, bans, bansess, mutes, grace. */
const ROOM_KEYS = 7
const ROOM_LOCALS = `
local S, M, H, B, BS, U, G = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
`

export interface ScriptSpec {
  numberOfKeys: number
  lua: string
}

function roomScript(body: string): ScriptSpec {
  return { numberOfKeys: ROOM_KEYS, lua: PRELUDE + ROOM_LOCALS + body }
}

/**
 * The registry: creates a room's entry if the id is free and the cluster holds fewer than
 * MAX_ROOMS. ARGV: id, meta JSON, max rooms, force (1: default rooms, no limit).
 * Returns `ok`, `exists` or `limit`.
 */
export const register: ScriptSpec = {
  numberOfKeys: 1,
  lua: `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 'exists' end
if ARGV[4] ~= '1' and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return 'limit' end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 'ok'
`,
}

/**
 * Starts a room's state afresh (a new room), or only where it is missing (mode `ensure`:
 * default rooms and rooms re-registered after Redis lost its data). The sequence never
 * starts below `floor`, so message ids do not go backwards.
 * ARGV: mode (`fresh`|`ensure`), epoch, floor, now, permanent (1|0). Returns 1 if written.
 */
export const initRoom = roomScript(`
local mode, epoch, floor, now, permanent = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
if mode == 'ensure' and redis.call('HEXISTS', S, 'epoch') == 1 then
  local seq = tonumber(redis.call('HGET', S, 'seq') or '0')
  if seq < floor then redis.call('HSET', S, 'seq', floor) end
  return 0
end
redis.call('DEL', S, M, H, B, BS, U, G)
redis.call('HSET', S, 'epoch', epoch, 'seq', floor)
if permanent ~= '1' then redis.call('HSET', S, 'emptied', now) end
return 1
`)

/**
 * Admits a member. ARGV: room, key, username, node, session, moderator (1|0), max users,
 * history limit, now, channel, ban identity (the session's first hash, kept across
 * resumes). Returns {code, seq, members, history, mute end}: code `ok`, `again` (already
 * a member with this session), `room_not_found`, `banned`, `username_taken`, `room_full`.
 */
export const join = roomScript(`
local room, key, name, node, sess, mod = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
local maxUsers, limit, now, channel = tonumber(ARGV[7]), tonumber(ARGV[8]), ARGV[9], ARGV[10]
local banId = ARGV[11]
if not live(S) then return {'room_not_found'} end
if redis.call('HEXISTS', B, key) == 1 or redis.call('HEXISTS', BS, banId) == 1 then
  return {'banned'}
end
local cur = redis.call('HGET', M, key)
if cur then
  local m = cjson.decode(cur)
  if m.s ~= sess then return {'username_taken'} end
  return {'again', tonumber(redis.call('HGET', S, 'seq')), redis.call('HVALS', M),
    redis.call('LRANGE', H, 0, -1), redis.call('HGET', U, key) or '0'}
end
if redis.call('HLEN', M) >= maxUsers then return {'room_full'} end
local seq = append(S, H, limit, room, name .. ' joined', now)
redis.call('HSET', M, key, cjson.encode({u = name, n = node, s = sess, b = banId, m = mod, o = 1, j = seq}))
redis.call('HDEL', S, 'emptied')
redis.call('PUBLISH', channel,
  envelope('s', seq, node, redis.call('HLEN', M), '', userFrame('user_joined', room, name)))
return {'ok', seq, redis.call('HVALS', M), redis.call('LRANGE', H, 0, -1), redis.call('HGET', U, key) or '0'}
`)

/**
 * A member leaves for good (a leave frame, or a resume grace of 0). ARGV: room, key,
 * session, history limit, now, channel, origin. Returns {code, seq, count}: `ok` or `gone`.
 */
export const leave = roomScript(`
local room, key, sess, limit, now, channel, origin = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5], ARGV[6], ARGV[7]
local cur = redis.call('HGET', M, key)
if not cur then return {'gone'} end
local m = cjson.decode(cur)
if m.s ~= sess then return {'gone'} end
redis.call('HDEL', M, key)
redis.call('ZREM', G, key)
local seq = append(S, H, limit, room, m.u .. ' left', now)
local count = redis.call('HLEN', M)
if count == 0 then redis.call('HSET', S, 'emptied', now) end
redis.call('PUBLISH', channel, envelope('s', seq, origin, count, '', userFrame('user_left', room, m.u)))
return {'ok', seq, count}
`)

/**
 * Stores and publishes a chat message: the hot path, kept lean (the content crosses once, as
 * JSON; the member's session is matched in its stored JSON without decoding it).
 * ARGV: key, session, history limit, room (JSON), sender (JSON), content (JSON), now,
 * channel, origin. Returns {code, seq}: `ok`, `not_member` or `muted`.
 */
export const message = roomScript(`
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
`)

/**
 * A member's connection dropped: shown offline, kept for the grace. ARGV: room, key,
 * session, node, grace end, channel. Returns 1 if the member went offline.
 */
export const offline = roomScript(`
local room, key, sess, node, deadline, channel = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local cur = redis.call('HGET', M, key)
if not cur then return 0 end
local m = cjson.decode(cur)
if m.s ~= sess or m.n ~= node or m.o == 0 then return 0 end
m.o = 0
redis.call('HSET', M, key, cjson.encode(m))
redis.call('ZADD', G, deadline, key)
redis.call('PUBLISH', channel, envelope('e', 0, node, '-', '', presenceFrame(room, m.u, 'offline')))
return 1
`)

/**
 * Resume: the member of session `old` is taken over by session `new` on `node`, online.
 * ARGV: room, key, old session, new session, node, channel. Returns {code, was online,
 * old node, username, moderator, seq, members, history, mute end}; code `ok` or `gone`.
 */
export const claim = roomScript(`
local room, key, old, new, node, channel = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local cur = redis.call('HGET', M, key)
if not cur then return {'gone'} end
local m = cjson.decode(cur)
if m.s ~= old then return {'gone'} end
local was, oldNode = m.o, m.n
m.o, m.n, m.s = 1, node, new
redis.call('HSET', M, key, cjson.encode(m))
redis.call('ZREM', G, key)
if was == 0 then
  redis.call('PUBLISH', channel, envelope('e', 0, node, '-', '', presenceFrame(room, m.u, 'online')))
end
return {'ok', was, oldNode, m.u, m.m, tonumber(redis.call('HGET', S, 'seq')),
  redis.call('HVALS', M), redis.call('LRANGE', H, 0, -1), redis.call('HGET', U, key) or '0'}
`)

/**
 * A node puts back a member it still serves (after Redis lost its data, or after this
 * node was taken for dead). ARGV: room, key, username, node, session, moderator, now,
 * channel, ban identity. Returns `ok`, `taken` (someone else holds the name now) or `room_not_found`.
 */
export const restore = roomScript(`
local room, key, name, node, sess, mod, now, channel = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7], ARGV[8]
local banId = ARGV[9]
if not live(S) then return 'room_not_found' end
local cur = redis.call('HGET', M, key)
if cur then
  local m = cjson.decode(cur)
  if m.s ~= sess then return 'taken' end
  if m.o == 1 and m.n == node then return 'ok' end
  m.o, m.n = 1, node
  redis.call('HSET', M, key, cjson.encode(m))
  redis.call('ZREM', G, key)
  redis.call('PUBLISH', channel, envelope('e', 0, '-', '-', '', presenceFrame(room, name, 'online')))
  return 'ok'
end
redis.call('HSET', M, key, cjson.encode({u = name, n = node, s = sess, b = banId, m = mod, o = 1, j = tonumber(redis.call('HGET', S, 'seq'))}))
redis.call('HDEL', S, 'emptied')
redis.call('PUBLISH', channel,
  envelope('e', 0, '-', redis.call('HLEN', M), '', userFrame('user_joined', room, name)))
return 'ok'
`)

/**
 * A moderator's act. ARGV: room, action, moderator key, moderator session, target key,
 * target name, now, history limit, channel, origin, mute ms. Returns {code, seq, target
 * session, count}; code `ok`, `not_member`, `not_moderator`, `self`, `no_user`,
 * `not_banned`, `not_muted`.
 */
export const moderate = roomScript(`
local room, action, modKey, modSess, key, name = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local now, limit, channel, origin, muteMs = ARGV[7], tonumber(ARGV[8]), ARGV[9], ARGV[10], tonumber(ARGV[11])
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
  target = key .. '\\t' .. how .. '\\t' .. by .. '\\t0'
  lines = userFrame('user_left', room, t.u)
end
if action == 'ban' then
  redis.call('HSET', B, key, cjson.encode({username = shown, by = by, at = tonumber(now)}))
  note = shown .. ' was banned by ' .. by
  if t then
    redis.call('HSET', BS, t.b or t.s, key)
    evict('banned')
  end
elseif action == 'kick' then
  if not t then return {'no_user'} end
  note = t.u .. ' was kicked by ' .. by
  evict('kicked')
elseif action == 'unban' then
  if redis.call('HDEL', B, key) == 0 then return {'not_banned'} end
  local all = redis.call('HGETALL', BS)
  for i = 1, #all, 2 do
    if all[i + 1] == key then redis.call('HDEL', BS, all[i]) end
  end
  note = name .. ' was unbanned by ' .. by
elseif action == 'mute' then
  local untilMs = tonumber(now) + muteMs
  redis.call('HSET', U, key, untilMs)
  note = shown .. ' was muted by ' .. by .. ' for ' .. math.ceil(muteMs / 1000) .. ' s'
  target = key .. '\\tmuted\\t' .. by .. '\\t' .. untilMs
elseif action == 'unmute' then
  if redis.call('HDEL', U, key) == 0 then return {'not_muted'} end
  note = shown .. ' was unmuted by ' .. by
  target = key .. '\\tunmuted\\t' .. by .. '\\t0'
end
local seq, id = append(S, H, limit, room, note, now)
local frame = systemFrame(room, id, note, now)
if lines then frame = lines .. '\\n' .. frame end
redis.call('PUBLISH', channel, envelope('s', seq, origin, count, target, frame))
return {'ok', seq, (t and t.s) or '', count, (t and t.o) or -1}
`)

/**
 * The janitor's pass over one room: members of dead nodes go offline (their grace starts),
 * members whose grace ended leave, and an empty room past its TTL is marked for deletion.
 * ARGV: room, now, history limit, channel, empty TTL, permanent (1|0), dead nodes
 * (comma-separated), grace ms. Returns {code, next deadline or -1, expired sessions…};
 * code `ok` or `delete`.
 */
export const tick = roomScript(`
local room, now, limit, channel = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local ttl, permanent, deadList, graceMs = tonumber(ARGV[5]), ARGV[6], ARGV[7], tonumber(ARGV[8])
if redis.call('HEXISTS', S, 'epoch') == 0 then return {'gone', -1} end
if redis.call('HEXISTS', S, 'deleting') == 1 then return {'delete', -1} end
if deadList ~= '' then
  local dead = {}
  for n in string.gmatch(deadList, '[^,]+') do dead[n] = true end
  local all = redis.call('HGETALL', M)
  for i = 1, #all, 2 do
    local m = cjson.decode(all[i + 1])
    if dead[m.n] and m.o == 1 then
      m.o = 0
      redis.call('HSET', M, all[i], cjson.encode(m))
      redis.call('ZADD', G, now + graceMs, all[i])
      redis.call('PUBLISH', channel, envelope('e', 0, '-', '-', '', presenceFrame(room, m.u, 'offline')))
    end
  end
end
local out = {'ok', -1}
local due = redis.call('ZRANGEBYSCORE', G, '-inf', now)
for _, key in ipairs(due) do
  redis.call('ZREM', G, key)
  local cur = redis.call('HGET', M, key)
  if cur then
    local m = cjson.decode(cur)
    if m.o == 0 then
      redis.call('HDEL', M, key)
      local seq = append(S, H, limit, room, m.u .. ' left', now)
      local count = redis.call('HLEN', M)
      if count == 0 then redis.call('HSET', S, 'emptied', now) end
      redis.call('PUBLISH', channel, envelope('s', seq, '-', count, '', userFrame('user_left', room, m.u)))
      table.insert(out, m.s)
    end
  end
end
local nextAt = -1
local first = redis.call('ZRANGE', G, 0, 0, 'WITHSCORES')
if first[2] then nextAt = tonumber(first[2]) end
if redis.call('HLEN', M) == 0 and permanent ~= '1' then
  local since = tonumber(redis.call('HGET', S, 'emptied') or '-1')
  if since < 0 then
    redis.call('HSET', S, 'emptied', now)
    since = now
  end
  if now - since >= ttl then
    redis.call('HSET', S, 'deleting', now)
    out[1] = 'delete'
    return out
  end
  if nextAt < 0 or since + ttl < nextAt then nextAt = since + ttl end
end
out[2] = nextAt
return out
`)

/** Deletes a room marked for deletion: its keys go, its channel hears `d`. ARGV: channel. */
export const purge = roomScript(`
if redis.call('HEXISTS', S, 'deleting') == 0 then return 0 end
redis.call('DEL', S, M, H, B, BS, U, G)
redis.call('PUBLISH', ARGV[1], envelope('d', 0, '-', 0, '', ''))
return 1
`)

/**
 * Takes one token from a room's wrong-password bucket (the TokenBucket of one node, kept in
 * a hash shared by every node): refilled at `per second` since the last take, up to
 * `capacity`; the key goes once the bucket would be full again. ARGV: capacity, per
 * second, now (ms, the rules' clock). Returns 1 if a token was taken, else 0.
 */
export const passwordTake: ScriptSpec = {
  numberOfKeys: 1,
  lua: `
local cap, rate, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local v = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(v[1]) or cap, tonumber(v[2]) or now
if now > at then
  tokens = tokens + (now - at) * rate / 1000
  local whole = math.floor(tokens + 0.5)
  if math.abs(tokens - whole) < 1e-9 then tokens = whole end
  if tokens > cap then tokens = cap end
  at = now
end
local took = 0
if tokens >= 1 then
  tokens = tokens - 1
  took = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(at))
redis.call('PEXPIRE', KEYS[1], math.ceil(cap / rate * 1000))
return took
`,
}

/** Gives back a token taken for a right password. ARGV: capacity. Returns 1 if the bucket is there. */
export const passwordRefund: ScriptSpec = {
  numberOfKeys: 1,
  lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local tokens = tonumber(redis.call('HGET', KEYS[1], 'tokens')) + 1
if tokens > tonumber(ARGV[1]) then tokens = tonumber(ARGV[1]) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens))
return 1
`,
}

/** Pops the rooms whose deadline has come. ARGV: now, how many. */
export const popDue: ScriptSpec = {
  numberOfKeys: 1,
  lua: `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do redis.call('ZREM', KEYS[1], id) end
return ids
`,
}

export const SCRIPTS = {
  register,
  initRoom,
  join,
  leave,
  message,
  offline,
  claim,
  restore,
  moderate,
  tick,
  purge,
  passwordTake,
  passwordRefund,
  popDue,
} as const

export type ScriptName = keyof typeof SCRIPTS
