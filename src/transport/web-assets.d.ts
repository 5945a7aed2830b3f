// Files the server imports as assets: Bun embeds them in the compiled executable.

/** `with { type: 'text' }`: the file's text. */
declare module '*.md' {
  const text: string
  export default text
}

/** `with { type: 'file' }`: a path for `Bun.file()` (inside the executable once compiled). */
declare module 'swagger-ui-dist/swagger-ui-bundle.js' {
  const path: string
  export default path
}
declare module 'swagger-ui-dist/swagger-ui.css' {
  const path: string
  export default path
}
