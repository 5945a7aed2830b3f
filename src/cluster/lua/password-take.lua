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
