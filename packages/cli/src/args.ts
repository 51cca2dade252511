/**
 * The command line, parsed into a command and its typed flags. Pure: no I/O.
 * Unknown commands and flags are a {@link UsageError} that says what to type
 * instead.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util'

/** A mistake on the command line or in the environment: printed without a stack trace, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}

type Options = NonNullable<ParseArgsConfig['options']>

const common: Options = {
  app: { type: 'string' },
  secret: { type: 'string' },
  'secret-file': { type: 'string' },
  lan: { type: 'boolean' },
  interface: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
}

/** Every command, its flags, its positionals and one line of help. */
export interface CommandSpec {
  summary: string
  usage: string
  /** How many positionals it takes (-1: any). */
  positionals: number
  options: Options
}

export const COMMANDS: Record<'up' | 'peers' | 'send' | 'lead' | 'doctor' | 'demo' | 'secret' | 'help', CommandSpec> = {
  up: { summary: 'join the mesh and show a live view of peers, the leader and message rates', usage: 'up [--storage DIR|memory] [--port N] [--priority N]', positionals: 0, options: { ...common, storage: { type: 'string' }, port: { type: 'string' }, priority: { type: 'string' } } },
  peers: { summary: 'list the peers (from a running `meshkit up`, or by joining for --wait ms)', usage: 'peers [--wait MS]', positionals: 0, options: { ...common, wait: { type: 'string' } } },
  send: { summary: 'broadcast a text message on a channel', usage: 'send <channel> <text> [--wait MS]', positionals: 2, options: { ...common, wait: { type: 'string' } } },
  lead: { summary: 'make the running `meshkit up` the leader', usage: 'lead', positionals: 0, options: { ...common } },
  doctor: { summary: 'check what makes meshes fail: multicast, interfaces, the UDP port, foreign groups, peers that do not connect', usage: 'doctor [--port N] [--wait MS]', positionals: 0, options: { ...common, port: { type: 'string' }, wait: { type: 'string' } } },
  demo: { summary: 'start a local mesh of several processes and show discovery, election, a broadcast, a takeover and a failover', usage: 'demo [--nodes N]', positionals: 0, options: { ...common, nodes: { type: 'string' } } },
  secret: { summary: 'print a new random group secret', usage: 'secret', positionals: 0, options: { help: common.help! } },
  help: { summary: 'show this help', usage: 'help [command]', positionals: -1, options: {} },
}

export type CommandName = keyof typeof COMMANDS

export interface Flags {
  app: string
  secret?: string
  secretFile?: string
  lan: boolean
  interfaces?: string[]
  json: boolean
  help: boolean
  storage?: string
  port?: number
  priority?: number
  wait?: number
  nodes?: number
}

export interface Invocation {
  command: CommandName
  positionals: string[]
  flags: Flags
}

const integer = (name: string, value: string | undefined, min: number, max: number): number | undefined => {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${value}"`)
  return n
}

export function parseCommandLine(argv: string[]): Invocation {
  const [first, ...rest] = argv
  if (first === undefined || first === '--help' || first === '-h') return { command: 'help', positionals: [], flags: { app: 'meshkit', lan: false, json: false, help: true } }
  if (!Object.hasOwn(COMMANDS, first)) {
    throw new UsageError(`unknown command "${first}". Commands: ${Object.keys(COMMANDS).join(', ')} (meshkit help)`)
  }
  const command = first as CommandName
  const spec = COMMANDS[command]
  let parsed: { values: Record<string, unknown>; positionals: string[] }
  try {
    parsed = parseArgs({ args: rest, options: spec.options, allowPositionals: true, strict: true }) as typeof parsed
  } catch (err) {
    const e = err as Error & { code?: string }
    const flag = /'(-[^']+)'/.exec(e.message)?.[1]
    const what =
      e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag !== undefined
        ? `unknown flag ${flag}`
        : e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && flag !== undefined && /ambiguous/.test(e.message)
          ? `the value after ${flag} starts with '-': write ${flag}=VALUE`
          : e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && flag !== undefined
            ? `${flag.split(' ')[0]!} needs a value`
            : e.message
    throw new UsageError(`${what} (usage: meshkit ${spec.usage}; meshkit help ${command})`)
  }
  const v = parsed.values as Record<string, string | boolean | string[] | undefined>
  const help = v.help === true
  if (!help && spec.positionals >= 0 && parsed.positionals.length !== spec.positionals) {
    throw new UsageError(`meshkit ${command} takes ${spec.positionals === 0 ? 'no arguments' : `${spec.positionals} arguments`}, got ${parsed.positionals.length} (usage: meshkit ${spec.usage})`)
  }
  const app = (v.app as string | undefined) ?? 'meshkit'
  if (!/^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/i.test(app)) throw new UsageError(`--app "${app}" must be 1-15 letters, digits or dashes`)
  const flags: Flags = { app, lan: v.lan === true, json: v.json === true, help }
  if (typeof v.secret === 'string') flags.secret = v.secret
  if (typeof v['secret-file'] === 'string') flags.secretFile = v['secret-file']
  if (Array.isArray(v.interface)) flags.interfaces = v.interface
  if (typeof v.storage === 'string') flags.storage = v.storage
  const port = integer('port', v.port as string | undefined, 0, 65_535)
  if (port !== undefined) flags.port = port
  const priority = integer('priority', v.priority as string | undefined, -1_000_000, 1_000_000)
  if (priority !== undefined) flags.priority = priority
  const wait = integer('wait', v.wait as string | undefined, 0, 600_000)
  if (wait !== undefined) flags.wait = wait
  const nodes = integer('nodes', v.nodes as string | undefined, 2, 16)
  if (nodes !== undefined) flags.nodes = nodes
  if (flags.interfaces !== undefined && !flags.lan) throw new UsageError('--interface needs --lan (without it, discovery stays on loopback)')
  return { command, positionals: parsed.positionals, flags }
}

export function helpText(command?: string): string {
  if (command !== undefined && Object.hasOwn(COMMANDS, command)) {
    const spec = COMMANDS[command as CommandName]
    return `meshkit ${spec.usage}\n  ${spec.summary}\n\n${COMMON_HELP}`
  }
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length))
  return [
    'meshkit: self-forming, authenticated peer-to-peer meshes with a leader, for devices on one LAN',
    '',
    'usage: meshkit <command> [flags]',
    '',
    ...Object.entries(COMMANDS).map(([name, spec]) => `  ${name.padEnd(width)}  ${spec.summary}`),
    '',
    COMMON_HELP,
  ].join('\n')
}

const COMMON_HELP = `common flags:
  --app NAME          app name: devices mesh with devices of the same app (default meshkit)
  --secret S          the group secret (or MESHKIT_SECRET, or --secret-file PATH); \`meshkit secret\` makes one
  --lan               use the real network (default: discovery confined to loopback, nothing leaves this machine)
  --interface NAME    with --lan: only this interface (repeatable)
  --json              JSON lines for scripts`
