import type { PasswordHasher } from './domain/ports.ts'

/** Bun's argon2id (64 MiB, t=2): about 100 ms a verify, off the event loop. */
export const argon2Hasher: PasswordHasher = {
  hash: (password) => Bun.password.hash(password, { algorithm: 'argon2id' }),
  verify: (password, hash) => Bun.password.verify(password, hash),
}
