/**
 * The texts of the system notes a room keeps (joins, leaves, moderation acts), written once:
 * the rules (src/chat) put them in the changes they hand to either engine.
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
  deleted: () => 'The room was deleted',
} as const
