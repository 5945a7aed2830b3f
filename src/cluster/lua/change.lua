-- One guarded change to one room (src/chat/engine.ts): the guards in order, then the
-- writes, then each note stored and published with the next sequence number. The note
-- texts and every frame come from TypeScript; a note's id is the byte 0x01 until here.
local c = cjson.decode(ARGV[1])
local limit, now, channel, origin = tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
-- The member under `key`, or nil (HGET gives false for a missing field).
local function member(key)
  local cur = redis.call('HGET', M, key)
  if not cur then return nil end
  return cjson.decode(cur)
end
-- Whether a ban of `key` is in force: on record, and not a timed ban that ended.
local function banned(key)
  if not key then return false end
  local raw = redis.call('HGET', B, key)
  if not raw then return false end
  local ends = cjson.decode(raw)['until']
  return ends == nil or ends > tonumber(now)
end
-- The holder of the member `m` that is session `sess`, or nil.
local function holder(m, sess)
  if m == nil then return nil end
  local all = holders(m)
  local i = find(all, sess)
  return i and all[i], #all
end
local function holds(guard)
  local is, key = guard.is, guard.key
  if is == 'member' then
    return holder(member(key), guard.session) ~= nil
  elseif is == 'moderator' then
    local m = member(key)
    return m ~= nil and m.m == 1
  elseif is == 'present' then
    return redis.call('HEXISTS', M, key) == 1
  elseif is == 'same' then
    local m = member(key)
    if guard.session == cjson.null then return m == nil end
    return holder(m, guard.session) ~= nil
  elseif is == 'banned' then
    return banned(key)
  elseif is == 'muted' then
    return redis.call('HEXISTS', U, key) == 1
  elseif is == 'live' then
    return live(S)
  elseif is == 'away' then
    local h = holder(member(key), guard.session)
    return h ~= nil and h.o == 0
  elseif is == 'shared' or is == 'alone' then
    local h, count = holder(member(key), guard.session)
    return h ~= nil and (count > 1) == (is == 'shared')
  elseif is == 'sameUser' then
    local m = member(key)
    return m ~= nil and m.i == guard.userId
  elseif is == 'notBanned' then
    return not banned(key) and not banned(redis.call('HGET', BS, guard.identity))
  elseif is == 'notHeldBy' then
    return holder(member(key), guard.session) == nil
  elseif is == 'absent' then
    return redis.call('HEXISTS', M, key) == 0
  elseif is == 'seat' then
    return redis.call('HLEN', M) < guard.max
  elseif is == 'emptySince' then
    local since = tonumber(redis.call('HGET', S, 'emptied') or '')
    return redis.call('HLEN', M) == 0 and since ~= nil and since <= guard.at
  end
  error('unknown guard ' .. tostring(is))
end
for _, guard in ipairs(c.guards) do
  if not holds(guard) then return {guard.fail} end
end
local lines, count, dropped, droppedOnline, gone = {}, '-', '', -1, nil
for _, w in ipairs(c.writes) do
  local op, key = w.op, w.key
  if op == 'putMember' then
    local m = cjson.decode(w.value)
    -- The join's order in the user list: the sequence number its note is about to get.
    m.j = tonumber(redis.call('HGET', S, 'seq') or '0') + 1
    redis.call('HSET', M, key, cjson.encode(m))
    redis.call('HDEL', S, 'emptied')
    count = redis.call('HLEN', M)
    table.insert(lines, w.line)
  elseif op == 'hold' then
    local m = member(key)
    if m then
      local was = m.o
      local all = holders(m)
      table.insert(all, cjson.decode(w.value))
      settle(m, all)
      redis.call('HSET', M, key, cjson.encode(m))
      if was == 0 then table.insert(lines, about(w.line, m)) end
    end
  elseif op == 'release' then
    local m = member(key)
    local all = m and holders(m)
    local i = all and find(all, w.session)
    if i and #all > 1 then
      local was, out = m.o, table.remove(all, i)
      settle(m, all)
      redis.call('HSET', M, key, cjson.encode(m))
      if was == 1 and m.o == 0 then table.insert(lines, about(w.line, m)) end
      dropped, droppedOnline = out.s, out.o
    end
  elseif op == 'away' then
    local m = member(key)
    local all = m and holders(m)
    local i = all and find(all, w.session)
    if i and all[i].n == origin and all[i].o == 1 then
      local was = m.o
      all[i].o, all[i].d = 0, w['until']
      settle(m, all)
      redis.call('HSET', M, key, cjson.encode(m))
      redis.call('ZADD', G, 'LT', w['until'], key)
      if was == 1 and m.o == 0 then table.insert(lines, about(w.line, m)) end
    end
  elseif op == 'ban' then
    redis.call('HSET', B, key, w.value)
  elseif op == 'banSession' then
    redis.call('HSET', BS, w.identity, key)
  elseif op == 'unban' then
    redis.call('HDEL', B, key)
    local all = redis.call('HGETALL', BS)
    for i = 1, #all, 2 do
      if all[i + 1] == key then redis.call('HDEL', BS, all[i]) end
    end
  elseif op == 'mute' then
    redis.call('HSET', U, key, w['until'])
  elseif op == 'unmute' then
    redis.call('HDEL', U, key)
  elseif op == 'dropMember' then
    local m = member(key)
    if m then
      redis.call('HDEL', M, key)
      redis.call('ZREM', G, key)
      count = redis.call('HLEN', M)
      if count == 0 then redis.call('HSET', S, 'emptied', now) end
      gone = {}
      for _, h in ipairs(holders(m)) do table.insert(gone, h.s .. '|' .. h.o) end
      table.insert(lines, withUser(w.line, m))
    end
  elseif op == 'deleteRoom' then
    -- Every member goes at once (each node takes its own out, told by the target `*`); the
    -- room's keys go right after, by the purge script.
    redis.call('HSET', S, 'deleting', now)
    gone = {}
    local all = redis.call('HGETALL', M)
    for i = 2, #all, 2 do
      for _, h in ipairs(holders(cjson.decode(all[i]))) do table.insert(gone, h.s .. '|' .. h.o) end
    end
    redis.call('DEL', M, G)
    count = 0
  else
    error('unknown write ' .. tostring(op))
  end
end
local seq, target, length = 0, c.target, 0
for _, note in ipairs(c.notes) do
  seq = redis.call('HINCRBY', S, 'seq', 1)
  local id = string.format('%012d', seq)
  length = redis.call('RPUSH', H, (string.gsub(note.stored, '\1', id)))
  if note.frame ~= '' then table.insert(lines, (string.gsub(note.frame, '\1', id))) end
  redis.call('PUBLISH', channel, envelope('s', seq, origin, count, target, table.concat(lines, '\n')))
  lines, target = {}, ''
end
if seq > 0 then trim(H, length, limit, X, seq) end
if #lines > 0 then
  redis.call('PUBLISH', channel, envelope('e', 0, '-', count, '', table.concat(lines, '\n')))
end
if gone then return {'ok', seq, count, dropped, droppedOnline, gone} end
if c.view == '' then return {'ok', seq, count, dropped, droppedOnline} end
-- A joiner's first view of the room, as this change left it (its read markers last).
return {'ok', seq, count, dropped, droppedOnline, redis.call('HVALS', M), redis.call('LRANGE', H, -limit, -1),
  redis.call('HGET', U, c.view) or '0', redis.call('HGETALL', R)}
