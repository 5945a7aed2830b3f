if redis.call('HEXISTS', S, 'deleting') == 0 then return 0 end
redis.call('DEL', S, M, H, B, BS, U, G, X, R)
redis.call('PUBLISH', ARGV[1], envelope('d', 0, '-', 0, '', ''))
return 1
