/** `with { type: 'text' }`: a Lua script's source (Bun embeds it in the compiled executable). */
declare module '*.lua' {
  const text: string
  export default text
}
