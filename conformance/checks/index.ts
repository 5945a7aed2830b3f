/**
 * Every area of the suite, in the order they run. To add checks, add them to an area's file
 * or add a file (one per area of docs/protocol.md) and list it here.
 */
import type { Area } from '../lib/check.ts'
import { changes } from './changes.ts'
import { cluster } from './cluster.ts'
import { connection } from './connection.ts'
import { limits } from './limits.ts'
import { messagesArea } from './messages.ts'
import { moderation } from './moderation.ts'
import { rest } from './rest.ts'
import { resumeArea } from './resume.ts'
import { rooms } from './rooms.ts'
import { signIn } from './sign-in.ts'

export const AREAS: Area[] = [
  connection,
  rooms,
  messagesArea,
  changes,
  moderation,
  resumeArea,
  limits,
  rest,
  signIn,
  cluster,
]
