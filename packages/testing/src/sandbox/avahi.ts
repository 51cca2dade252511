/**
 * Avahi (an independent mDNS implementation) inside a sandbox host, for
 * interop tests. Each host gets a private D-Bus system bus and its own /run
 * (bind-mounted inside its command), so daemons in several hosts never meet
 * and nothing touches the machine's own Avahi or D-Bus.
 */
import type { ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { SandboxHost } from './lan.js'
import { SandboxError } from './shell.js'

const DBUS_CONF = (socket: string): string => `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="signal"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
  </policy>
</busconfig>
`

const AVAHI_CONF = (hostName: string, ipv6: boolean): string => `[server]
host-name=${hostName}
use-ipv4=yes
use-ipv6=${ipv6 ? 'yes' : 'no'}
allow-interfaces=eth0
enable-dbus=yes
ratelimit-interval-usec=1000000
ratelimit-burst=1000

[wide-area]
enable-wide-area=no

[publish]
publish-hinfo=no
publish-workstation=no

[reflector]
enable-reflector=no
`

/** A service as `avahi-browse -rp` prints it: `=` resolved (with host, address, port, TXT), `+` appeared, `-` removed (names only). */
export interface AvahiService {
  event: '+' | '=' | '-'
  iface: string
  protocol: string
  name: string
  type: string
  domain: string
  /** Resolved lines only. */
  host?: string
  address?: string
  port?: number
  txt?: string[]
}

/** Parses one `avahi-browse -p` line (undefined for anything else). */
export function parseAvahiLine(line: string): AvahiService | undefined {
  const event = line[0]
  if ((event !== '+' && event !== '=' && event !== '-') || line[1] !== ';') return undefined
  const f = line.split(';')
  if (f.length < 6) return undefined
  const base = { event, iface: f[1]!, protocol: f[2]!, name: unescapeAvahi(f[3]!), type: f[4]!, domain: f[5]! } as const
  if (event !== '=') return base
  if (f.length < 10) return undefined
  const txt = [...f.slice(9).join(';').matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!)
  return { ...base, host: f[6]!, address: f[7]!, port: Number(f[8]), txt }
}

/** `avahi-browse -p` escapes `.`, `;` and non-ASCII in names as `\DDD`. */
const unescapeAvahi = (s: string): string => s.replace(/\\(\d{3})/g, (_, d: string) => String.fromCharCode(Number(d)))

/** Parses `avahi-browse -rp` output: the resolved (`=`) services. */
export function parseAvahiBrowse(output: string): AvahiService[] {
  return output
    .split('\n')
    .map(parseAvahiLine)
    .filter((s): s is AvahiService => s?.event === '=')
}

/** A running `avahi-browse -rp <type>`: every line it printed, and waits for the next one that matches. */
export class AvahiBrowser {
  readonly events: AvahiService[] = []
  private waiters: Array<{ match: (s: AvahiService) => boolean; resolve: (s: AvahiService) => void }> = []

  constructor(readonly process: ChildProcess) {
    if (process.stdout === null) throw new SandboxError('avahi-browse needs its stdout piped')
    createInterface({ input: process.stdout }).on('line', (line) => {
      const s = parseAvahiLine(line)
      if (s === undefined) return
      this.events.push(s)
      for (const w of [...this.waiters]) {
        if (!w.match(s)) continue
        this.waiters = this.waiters.filter((x) => x !== w)
        w.resolve(s)
      }
    })
  }

  /** The first line (already printed, or future) of kind `event` that matches, or a SandboxError after `timeoutMs`. */
  async waitFor(event: AvahiService['event'], match: (s: AvahiService) => boolean, timeoutMs = 10_000): Promise<AvahiService> {
    const matches = (s: AvahiService): boolean => s.event === event && match(s)
    const seen = this.events.find(matches)
    if (seen !== undefined) return seen
    return new Promise((resolve, reject) => {
      const waiter = {
        match: matches,
        resolve: (s: AvahiService) => {
          clearTimeout(timer)
          resolve(s)
        },
      }
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter)
        reject(new SandboxError(`avahi-browse printed no matching "${event}" line within ${timeoutMs} ms`))
      }, timeoutMs)
      this.waiters.push(waiter)
    })
  }
}

export interface Avahi {
  /** `avahi-browse -rpt <type>`: the resolved services Avahi knows now (a snapshot). */
  browse: (type: string) => AvahiService[]
  /** Starts `avahi-browse -rp <type>` (runs until {@link Avahi.stop}): appearances, resolutions and removals as they happen. */
  watch: (type: string) => AvahiBrowser
  /**
   * Publishes a service with `avahi-publish-service`; resolves once Avahi has
   * established it (probing done). Kill the process (SIGTERM) to withdraw it
   * with goodbyes.
   */
  publish: (name: string, type: string, port: number, txt: string[], timeoutMs?: number) => Promise<ChildProcess>
  stop: () => Promise<void>
}

/** Starts a private D-Bus and avahi-daemon in `host` (needs the avahi-daemon, avahi-utils and dbus packages). */
export async function startAvahi(host: SandboxHost, options: { hostName?: string; ipv6?: boolean; timeoutMs?: number } = {}): Promise<Avahi> {
  for (const bin of ['avahi-daemon', 'avahi-browse', 'avahi-publish-service', 'dbus-daemon']) {
    if (!['/usr/sbin', '/usr/bin'].some((dir) => existsSync(join(dir, bin)))) {
      throw new SandboxError(`${bin} is missing: apt-get install -y --no-install-recommends avahi-daemon avahi-utils dbus`)
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'meshkit-avahi-'))
  const run = join(dir, 'run')
  mkdirSync(join(run, 'avahi-daemon'), { recursive: true })
  mkdirSync(join(run, 'dbus'), { recursive: true })
  const socket = join(dir, 'bus')
  writeFileSync(join(dir, 'dbus.conf'), DBUS_CONF(socket))
  writeFileSync(join(dir, 'avahi.conf'), AVAHI_CONF(options.hostName ?? `meshkit-avahi-${host.index}`, options.ipv6 === true))
  const env = { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${socket}` }
  const timeoutMs = options.timeoutMs ?? 10_000
  const children: ChildProcess[] = []
  const stop = async (): Promise<void> => {
    // clients first, the daemon, then its bus
    for (const p of children.reverse()) await terminate(p)
    rmSync(dir, { recursive: true, force: true })
  }

  try {
    const dbus = host.spawn('dbus-daemon', [`--config-file=${join(dir, 'dbus.conf')}`, '--nofork', '--nopidfile', '--print-address'], { env })
    children.push(dbus)
    await output(dbus, (text) => text.includes(socket), timeoutMs, 'the private D-Bus')
    const daemon = host.spawn('sh', ['-c', `mount -n --bind ${run} /run && exec avahi-daemon -f ${join(dir, 'avahi.conf')} --no-drop-root --no-chroot --no-rlimits`], { env })
    children.push(daemon)
    await output(daemon, (text) => text.includes('Server startup complete'), timeoutMs, 'avahi-daemon startup')
  } catch (err) {
    await stop()
    throw err
  }

  return {
    browse: (type) => parseAvahiBrowse(host.exec('env', [`DBUS_SYSTEM_BUS_ADDRESS=unix:path=${socket}`, 'avahi-browse', '-rpt', type])),
    watch: (type) => {
      const p = host.spawn('avahi-browse', ['-rp', type], { env })
      children.push(p)
      return new AvahiBrowser(p)
    },
    publish: async (name, type, port, txt, publishTimeoutMs = timeoutMs) => {
      const p = host.spawn('avahi-publish-service', [name, type, String(port), ...txt], { env })
      children.push(p)
      await output(p, (text) => text.includes('Established under name'), publishTimeoutMs, `avahi-publish-service ${name}`)
      return p
    },
    stop,
  }
}

/** Resolves once `p` has printed (stdout or stderr) something `done` accepts; rejects if it exits first or after `timeoutMs`. */
async function output(p: ChildProcess, done: (text: string) => boolean, timeoutMs: number, what: string): Promise<void> {
  let text = ''
  await new Promise<void>((resolve, reject) => {
    const finish = (err?: Error): void => {
      clearTimeout(timer)
      p.stdout?.off('data', onData)
      p.stderr?.off('data', onData)
      p.off('exit', onExit)
      if (err === undefined) resolve()
      else reject(err)
    }
    const onData = (d: Buffer): void => {
      text += d.toString()
      if (done(text)) finish()
    }
    const onExit = (code: number | null): void => finish(new SandboxError(`${what}: exited (${code}) before it was ready: ${text.slice(-500)}`))
    const timer = setTimeout(() => finish(new SandboxError(`${what}: not ready within ${timeoutMs} ms: ${text.slice(-500)}`)), timeoutMs)
    p.stdout?.on('data', onData)
    p.stderr?.on('data', onData)
    p.once('exit', onExit)
  })
}

/** SIGTERM (graceful: Avahi withdraws its services with goodbyes), SIGKILL if it lingers. */
async function terminate(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return
  const exited = new Promise((r) => p.once('exit', r))
  p.kill('SIGTERM')
  const timer = setTimeout(() => p.kill('SIGKILL'), 3000)
  await exited
  clearTimeout(timer)
}
