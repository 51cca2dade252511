/**
 * The command line of the remote control, parsed into a config. Pure: argv and the
 * environment in, a config or a {@link UsageError} out.
 */
import { parseArgs } from 'node:util'

/** A mistake on the command line or in the environment: printed as one line, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

export const SECRET_ENV = 'MESHKIT_SECRET'

export const USAGE = `usage: node examples/remote-control/dist/main.js [--secret S] [--priority P] [--lan] [--json] [--mdns-port N]

  --secret S       the group secret, the same on every device (or set ${SECRET_ENV})
  --priority P     election priority (a number, default 0; --priority=-1 for a negative one):
                   higher leads first, at start and on failover
  --lan            discover peers on the real network (default: this machine only, loopback)
  --json           one JSON event per line on stdout, for scripts and tests
  --mdns-port N    mDNS port (default 5353); give every node of one mesh the same port to
                   keep a test mesh apart from others on the machine
  -h, --help       this help

The leader types commands (set KEY VALUE, del KEY, clear, ping) and every follower applies them;
/lead takes over, /state, /peers, /quit, /help.`

export interface RemoteConfig {
  priority?: number
  secret: string
  lan: boolean
  json: boolean
  mdnsPort?: number
  help: boolean
}

export function parseRemoteArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): RemoteConfig {
  let values: { priority?: string; secret?: string; lan?: boolean; json?: boolean; 'mdns-port'?: string; help?: boolean }
  try {
    ;({ values } = parseArgs({
      args: [...argv],
      options: {
        priority: { type: 'string' },
        secret: { type: 'string' },
        lan: { type: 'boolean' },
        json: { type: 'boolean' },
        'mdns-port': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }))
  } catch (err) {
    // node:util's messages are clear ("Unknown option '--x'"); drop its hint about `--` and positionals
    throw new UsageError(((err as Error).message.split('. To specify a positional')[0] ?? 'bad arguments').replace(/\n/g, ' '))
  }
  if (values.help === true) return { secret: '', lan: false, json: false, help: true }
  let priority: number | undefined
  if (values.priority !== undefined) {
    priority = Number(values.priority)
    if (values.priority.trim() === '' || !Number.isFinite(priority)) throw new UsageError(`--priority must be a number, got "${values.priority}"`)
  }
  const secret = values.secret ?? env[SECRET_ENV]
  if (secret === undefined || secret === '') {
    throw new UsageError(`no group secret: pass --secret S or set ${SECRET_ENV} (the same on every device)`)
  }
  let mdnsPort: number | undefined
  if (values['mdns-port'] !== undefined) {
    mdnsPort = Number(values['mdns-port'])
    if (!Number.isInteger(mdnsPort) || mdnsPort < 1 || mdnsPort > 65_535) throw new UsageError(`--mdns-port must be a port number (1-65535), got "${values['mdns-port']}"`)
  }
  return { ...(priority !== undefined ? { priority } : {}), secret, lan: values.lan === true, json: values.json === true, ...(mdnsPort !== undefined ? { mdnsPort } : {}), help: false }
}

/** Errors of createMesh() that are the user's to fix (a too short secret): exit code 2 like a bad flag, not 1. */
export function isUserError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'InvalidGroupSecretError' || err.name === 'InvalidMeshOptionsError')
}
