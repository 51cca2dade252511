/**
 * The command line of the chat, parsed into a config. Pure: argv and the
 * environment in, a config or a {@link UsageError} out.
 */
import { parseArgs } from 'node:util'

/** A mistake on the command line or in the environment: printed as one line, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

export const SECRET_ENV = 'MESHKIT_SECRET'

export const USAGE = `usage: node examples/chat/dist/main.js --name NAME [--secret S] [--lan] [--json] [--mdns-port N]

  --name NAME      how others see you (1-32 characters)
  --secret S       the group secret, the same on every device (or set ${SECRET_ENV})
  --lan            discover peers on the real network (default: this machine only, loopback)
  --json           one JSON event per line on stdout, for scripts and tests
  --mdns-port N    mDNS port (default 5353); give every node of one mesh the same port to
                   keep a test mesh apart from others on the machine
  -h, --help       this help

Type a line to send it to everyone; /peers, /lead, /quit, /help.`

export interface ChatConfig {
  name: string
  secret: string
  lan: boolean
  json: boolean
  mdnsPort?: number
  help: boolean
}

const MAX_NAME = 32

export function parseChatArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): ChatConfig {
  let values: { name?: string; secret?: string; lan?: boolean; json?: boolean; 'mdns-port'?: string; help?: boolean }
  try {
    ;({ values } = parseArgs({
      args: [...argv],
      options: {
        name: { type: 'string' },
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
  if (values.help === true) return { name: '', secret: '', lan: false, json: false, help: true }
  const name = values.name?.trim()
  if (name === undefined || name === '') throw new UsageError('--name is required: how others see you, e.g. --name alice')
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point
  if (name.length > MAX_NAME || /[\u0000-\u001f\u007f]/.test(name)) throw new UsageError(`--name must be 1-${MAX_NAME} printable characters`)
  const secret = values.secret ?? env[SECRET_ENV]
  if (secret === undefined || secret === '') {
    throw new UsageError(`no group secret: pass --secret S or set ${SECRET_ENV} (the same on every device of the chat)`)
  }
  let mdnsPort: number | undefined
  if (values['mdns-port'] !== undefined) {
    mdnsPort = Number(values['mdns-port'])
    if (!Number.isInteger(mdnsPort) || mdnsPort < 1 || mdnsPort > 65_535) throw new UsageError(`--mdns-port must be a port number (1-65535), got "${values['mdns-port']}"`)
  }
  return { name, secret, lan: values.lan === true, json: values.json === true, ...(mdnsPort !== undefined ? { mdnsPort } : {}), help: false }
}

/** Errors of createMesh() that are the user's to fix (a too short secret): exit code 2 like a bad flag, not 1. */
export function isUserError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'InvalidGroupSecretError' || err.name === 'InvalidMeshOptionsError')
}
