-- A change to a kept message (an edit, a delete, a reaction): the message's latest state is
-- written back in its place in the history, and the change is logged after it with the next
-- number of the sequence and published, in one step. The frame comes from TypeScript, with
-- 0x01 where the change's id goes and 0x03 where a reaction's count goes.
local key, sess, id, kind, value = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local frame, now, channel, origin = ARGV[6], tonumber(ARGV[7]), ARGV[8], ARGV[9]
local limit, maxEmoji, maxUsers = tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12])
local username, on = ARGV[13], ARGV[14] == '1'
local cur = redis.call('HGET', M, key)
if not cur or not string.find(cur, '"s":"' .. sess .. '"', 1, true) then return {'not_member'} end
local seq = tonumber(id)
local back = tonumber(redis.call('HGET', S, 'seq') or '0') - seq
if seq < 1 or back < 0 or back >= limit then return {'no_message'} end
local entry = redis.call('LINDEX', H, -(back + 1))
if not entry or not string.find(entry, '"id":"' .. id .. '"', 1, true) then return {'no_message'} end
local m = cjson.decode(entry)
if m.deleted or m.type ~= 'text' then return {'no_message'} end
local count = 0
if kind == 'edit' then
  m.content, m.edited_at = value, now
elseif kind == 'delete' then
  m.content, m.edited_at, m.reactions, m.reply_to, m.deleted = nil, nil, nil, nil, true
  redis.call('HDEL', X, 'r' .. seq)
else
  -- The reactions in full, in the order first used: {{emoji, {username, …}}, …}.
  local raw = redis.call('HGET', X, 'r' .. seq)
  local list = raw and cjson.decode(raw) or {}
  local at
  for i, pair in ipairs(list) do
    if pair[1] == value then
      at = i
      break
    end
  end
  if on then
    if not at then
      if #list >= maxEmoji then return {'reaction_limit'} end
      table.insert(list, {value, {}})
      at = #list
    end
    local names, has = list[at][2], false
    for _, n in ipairs(names) do
      if n == username then
        has = true
        break
      end
    end
    if not has then table.insert(names, username) end
    count = #names
  elseif at then
    local names = list[at][2]
    for i, n in ipairs(names) do
      if n == username then
        table.remove(names, i)
        break
      end
    end
    count = #names
    if count == 0 then table.remove(list, at) end
  end
  if #list == 0 then
    m.reactions = nil
    redis.call('HDEL', X, 'r' .. seq)
  else
    local shown = {}
    for _, pair in ipairs(list) do
      local users = {}
      for i = 1, math.min(#pair[2], maxUsers) do users[i] = pair[2][i] end
      shown[pair[1]] = {count = #pair[2], users = users}
    end
    m.reactions = shown
    redis.call('HSET', X, 'r' .. seq, cjson.encode(list))
  end
end
redis.call('LSET', H, -(back + 1), cjson.encode(m))
local eseq = redis.call('HINCRBY', S, 'seq', 1)
local f = string.gsub(frame, '\1', string.format('%012d', eseq), 1)
f = string.gsub(f, '\3', tostring(count), 1)
local length = redis.call('RPUSH', H, '{"seq":' .. eseq .. ',"event":' .. f .. '}')
trim(H, length, limit, X, eseq)
redis.call('PUBLISH', channel, envelope('s', eseq, origin, '-', '', f))
return {'ok', eseq, count}
