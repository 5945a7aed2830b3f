/**
 * The texts of the system notes a room keeps (joins, leaves, moderation acts), written once
 * for both engines. The memory store calls them; the Redis engine passes them to its scripts
 * as templates (`template`), whose blanks a script fills with the names it reads from the
 * room's state (a leaver's stored name, a moderation target's), so no text is in Lua.
 */
export const NOTES = {
  joined: (name: string) => `${name} joined`,
  left: (name: string) => `${name} left`,
  banned: (name: string, by: string) => `${name} was banned by ${by}`,
  kicked: (name: string, by: string) => `${name} was kicked by ${by}`,
  unbanned: (name: string, by: string) => `${name} was unbanned by ${by}`,
  muted: (name: string, by: string, durationMs: number) =>
    `${name} was muted by ${by} for ${Math.ceil(durationMs / 1000)} s`,
  unmuted: (name: string, by: string) => `${name} was unmuted by ${by}`,
} as const

/**
 * A note as a template for a Lua script: the name is the byte 0x01 and the moderator's name
 * 0x02 (`fill` in src/cluster/lua/prelude.lua puts them in). Names never hold control
 * characters (names.ts refuses them), so the marks cannot clash with a name.
 */
export function template(note: (name: string, by: string) => string): string {
  return note('\x01', '\x02')
}
