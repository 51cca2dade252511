/**
 * `meshkit <command>`: dispatch, and the one place that turns errors into
 * exit codes. A user's mistake (bad flag, missing secret, port in use) is one
 * clear line and exit code 2, never a stack trace.
 */
import { generateGroupSecret } from '@meshkit/mesh'
import { helpText, parseCommandLine } from './args.js'
import { demo } from './commands/demo.js'
import { doctor } from './commands/doctor.js'
import { lead, peers, send } from './commands/oneshot.js'
import { up } from './commands/up.js'
import { processIo, type Io } from './io.js'

/** Errors caused by what the user gave us (or their machine), not by a bug. */
const USER_ERRORS = new Set([
  'UsageError',
  'InvalidGroupSecretError',
  'InvalidMeshOptionsError',
  'IdentityLockedError',
  'IdentityCorruptError',
  'IdentityStorageError',
  'ListenError',
  'MulticastDeniedError',
  'NoUsableInterfaceError',
  'NetworkUnreachableError',
  'RemoteError',
  'MeshReadyTimeoutError',
])

export async function run(argv: string[], io: Io = processIo, signal: AbortSignal = new AbortController().signal): Promise<number> {
  try {
    const inv = parseCommandLine(argv)
    if (inv.command === 'help' || inv.flags.help) {
      io.out(helpText(inv.command === 'help' ? inv.positionals[0] : inv.command))
      return 0
    }
    switch (inv.command) {
      case 'up':
        return await up(inv, io, signal)
      case 'peers':
        return await peers(inv, io)
      case 'send':
        return await send(inv, io)
      case 'lead':
        return await lead(inv, io)
      case 'doctor':
        return await doctor(inv, io)
      case 'demo':
        return await demo(inv, io, signal)
      case 'secret':
        io.out(generateGroupSecret())
        return 0
    }
  } catch (err) {
    const e = err as Error
    if (USER_ERRORS.has(e.name)) {
      io.err(`meshkit: ${e.message}`)
      return 2
    }
    io.err(`meshkit: unexpected error: ${e.name}: ${e.message}`)
    if (process.env.DEBUG !== undefined) io.err(e.stack ?? '')
    else io.err('(set DEBUG=meshkit:* for details and the stack)')
    return 1
  }
}
