local mode, epoch, floor, now, permanent = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
if mode == 'ensure' and redis.call('HEXISTS', S, 'epoch') == 1 then
  local seq = tonumber(redis.call('HGET', S, 'seq') or '0')
  if seq < floor then redis.call('HSET', S, 'seq', floor) end
  return 0
end
redis.call('DEL', S, M, H, B, BS, U, G, X, R)
redis.call('HSET', S, 'epoch', epoch, 'seq', floor)
if permanent ~= '1' then redis.call('HSET', S, 'emptied', now) end
return 1
