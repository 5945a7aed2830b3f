import packageJson from '../package.json'

/** The server's version, from package.json (compiled into the executable). */
export const VERSION: string = packageJson.version
