-- Reads one kept message in one step: the entry's place is counted back from the room's seq,
-- which another change could move between two commands.
local id, limit = ARGV[1], tonumber(ARGV[2])
local seq = tonumber(id)
local back = tonumber(redis.call('HGET', S, 'seq') or '0') - seq
if seq < 1 or back < 0 or back >= limit then return {} end
local entry = redis.call('LINDEX', H, -(back + 1))
if not entry then return {} end
return {entry}
