-- Luacheck for the Redis scripts in src/cluster/lua (run by `bun run lint:lua`, which lints
-- each script as Redis runs it: the prelude and the room's key locals, then the script).
std = "lua51"
-- What Redis's scripting environment gives every script.
read_globals = { "redis", "cjson", "KEYS", "ARGV" }
-- The prelude's helpers and the room key locals are there for every script; a script uses
-- only some of them.
ignore = {
  "211/encode", "211/named", "211/withUser", "211/about", "211/trim", "211/HISTORY_SLACK",
  "211/envelope", "211/live", "211/holders", "211/settle", "211/find", "211/nextGrace",
  "211/S", "211/M", "211/H", "211/B", "211/BS", "211/U", "211/G", "211/X", "211/R",
}
max_line_length = 130
