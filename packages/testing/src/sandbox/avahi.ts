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
import { SandboxError, type SandboxHost } from './lan.js'

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

const AVAHI_CONF = (hostName: string): string => `[server]
host-name=${hostName}
use-ipv4=yes
use-ipv6=no
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

/** A service as `avahi-browse -rp` prints it. */
export interface AvahiService {
  iface: string
  protocol: string
  name: string
  type: string
  domain: string
  host: string
  address: string
  port: number
  txt: string[]
}

/** Parses `avahi-browse -rp` resolved (`=`) lines. */
export function parseAvahiBrowse(output: string): AvahiService[] {
  const out: AvahiService[] = []
  for (const line of output.split('\n')) {
    if (!line.startsWith('=;')) continue
    const f = line.split(';')
    if (f.length < 10) continue
    const txt = [...f.slice(9).join(';').matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!)
    out.push({ iface: f[1]!, protocol: f[2]!, name: f[3]!, type: f[4]!, domain: f[5]!, host: f[6]!, address: f[7]!, port: Number(f[8]), txt })
  }
  return out
}

export interface Avahi {
  /** `avahi-browse -rpt <type>`: the resolved services Avahi knows now. */
  browse: (type: string) => AvahiService[]
  /** Publishes a service with `avahi-publish-service` until the returned process is killed. */
  publish: (name: string, type: string, port: number, txt: string[]) => ChildProcess
  stop: () => Promise<void>
}

/** Starts a private D-Bus and avahi-daemon in `host` (needs the avahi-daemon, avahi-utils and dbus packages). */
export async function startAvahi(host: SandboxHost, options: { hostName?: string; timeoutMs?: number } = {}): Promise<Avahi> {
  for (const bin of ['/usr/sbin/avahi-daemon', '/usr/bin/avahi-browse', '/usr/bin/dbus-daemon']) {
    if (!existsSync(bin)) throw new SandboxError(`${bin} is missing: apt-get install -y --no-install-recommends avahi-daemon avahi-utils dbus`)
  }
  const dir = mkdtempSync(join(tmpdir(), 'meshkit-avahi-'))
  const run = join(dir, 'run')
  mkdirSync(join(run, 'avahi-daemon'), { recursive: true })
  mkdirSync(join(run, 'dbus'), { recursive: true })
  const socket = join(dir, 'bus')
  writeFileSync(join(dir, 'dbus.conf'), DBUS_CONF(socket))
  writeFileSync(join(dir, 'avahi.conf'), AVAHI_CONF(options.hostName ?? `meshkit-avahi-${host.index}`))
  const env = { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${socket}` }
  const timeoutMs = options.timeoutMs ?? 10_000

  const dbus = host.spawn('dbus-daemon', [`--config-file=${join(dir, 'dbus.conf')}`, '--nofork', '--nopidfile'], { env })
  await until(() => existsSync(socket), timeoutMs, 'the private D-Bus socket')
  const daemon = host.spawn(
    'sh',
    ['-c', `mount -n --bind ${run} /run && exec avahi-daemon -f ${join(dir, 'avahi.conf')} --no-drop-root --no-chroot --no-rlimits`],
    { env },
  )
  let log = ''
  daemon.stdout?.on('data', (d: Buffer) => (log += d.toString()))
  daemon.stderr?.on('data', (d: Buffer) => (log += d.toString()))
  await until(() => log.includes('Server startup complete'), timeoutMs, `avahi-daemon startup (log: ${log.slice(-500)})`)

  const kill = async (p: ChildProcess): Promise<void> => {
    if (p.exitCode !== null || p.signalCode !== null) return
    const exited = new Promise((r) => p.once('exit', r))
    p.kill('SIGTERM')
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))])
    p.kill('SIGKILL')
  }
  const published: ChildProcess[] = []
  return {
    browse: (type) => parseAvahiBrowse(host.exec('env', [`DBUS_SYSTEM_BUS_ADDRESS=unix:path=${socket}`, 'avahi-browse', '-rpt', type])),
    publish: (name, type, port, txt) => {
      const p = host.spawn('avahi-publish-service', [name, type, String(port), ...txt], { env })
      published.push(p)
      return p
    },
    stop: async () => {
      await Promise.all(published.map(kill))
      await kill(daemon)
      await kill(dbus)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

async function until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!done()) {
    if (Date.now() > deadline) throw new SandboxError(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}
