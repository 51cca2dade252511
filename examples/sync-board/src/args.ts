/** The command line of sync-board: flags, the group secret, usage errors. */

export const SECRET_ENV = 'MESHKIT_SECRET'

export const USAGE = `usage: sync-board [--port N] [--secret S] [--lan] [--json] [--mdns-port P]
  --port N        web page port on 127.0.0.1 (default 0: any free port)
  --secret S      the group secret, the same on every device (or set ${SECRET_ENV})
  --lan           discover devices on the real network (default: loopback only)
  --json          JSON lines on stdout instead of text
  --mdns-port P   mDNS port (isolates a test mesh; default 5353)`

export class UsageError extends Error {
  override readonly name = 'UsageError'
}

export interface Args {
  port: number
  secret: string
  lan: boolean
  json: boolean
  mdnsPort: number | undefined
  help: boolean
}

const portOf = (flag: string, value: string | undefined, min: number): number => {
  if (value === undefined) throw new UsageError(`${flag} needs a value`)
  const n = Number(value)
  if (!/^\d+$/.test(value) || n < min || n > 65535) throw new UsageError(`${flag} must be a port number (${min}-65535), got "${value}"`)
  return n
}

export function parseArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): Args {
  let port = 0
  let secret: string | undefined
  let lan = false
  let json = false
  let mdnsPort: number | undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined]
    const value = (): string | undefined => inline ?? argv[++i]
    switch (flag) {
      case '--port':
        port = portOf(flag, value(), 0)
        break
      case '--mdns-port':
        mdnsPort = portOf(flag, value(), 1)
        break
      case '--secret': {
        const v = value()
        if (v === undefined || v === '') throw new UsageError('--secret needs a value')
        secret = v
        break
      }
      case '--lan':
        lan = true
        break
      case '--json':
        json = true
        break
      case '--help':
      case '-h':
        return { port, secret: '', lan, json, mdnsPort, help: true }
      default:
        throw new UsageError(`unknown ${arg.startsWith('-') ? 'flag' : 'argument'} "${arg}"\n${USAGE}`)
    }
  }
  secret ??= env[SECRET_ENV]
  if (secret === undefined || secret === '') throw new UsageError(`no group secret: pass --secret S or set ${SECRET_ENV} (the same on every device)`)
  return { port, secret, lan, json, mdnsPort, help: false }
}
