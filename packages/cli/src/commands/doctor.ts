/**
 * `meshkit doctor`: checks what makes meshes fail in the field and says what
 * to do. Without --lan it only looks at the network (no traffic leaves the
 * machine); with --lan it also probes multicast on each interface and listens
 * to the LAN for devices of the app.
 */
import { mdnsDiscovery, type Discovery } from '@meshkit/discovery'
import { createMesh, generateGroupSecret, type Mesh } from '@meshkit/mesh'
import { createSocket } from 'node:dgram'
import { networkInterfaces } from 'node:os'
import type { Invocation } from '../args.js'
import type { Io } from '../io.js'
import { meshOptions } from '../mesh-options.js'
import { SECRET_ENV, resolveSecret } from '../secret.js'

export type Verdict = 'ok' | 'warn' | 'fail' | 'info'

export interface Check {
  check: string
  verdict: Verdict
  detail: string
  /** What to do about it. */
  fix?: string
}

const DEFAULT_WAIT_MS = 3_000

export async function doctor(inv: Invocation, io: Io): Promise<number> {
  const { flags } = inv
  const checks: Check[] = []
  const add = (c: Check): void => {
    checks.push(c)
    if (flags.json) io.out(JSON.stringify(c))
    else io.out(`${c.verdict.toUpperCase().padEnd(5)} ${c.check}: ${c.detail}${c.fix !== undefined ? `\n      -> ${c.fix}` : ''}`)
  }

  add(nodeCheck())
  for (const c of interfaceChecks(flags.lan, flags.interfaces)) add(c)
  add(await udpPortCheck(flags.port ?? 0, flags.lan))

  let secret: string | undefined
  try {
    secret = resolveSecret(flags)
  } catch {
    add({ check: 'group secret', verdict: 'warn', detail: 'none given: devices of other groups cannot be told apart from ours', fix: `pass --secret or set ${SECRET_ENV} to check your group` })
  }
  const foreign = new Map<string, { groupTag: string; version: number; address: string }>()
  let discovery: Discovery | undefined
  let mesh: Mesh | undefined
  try {
    mesh = await createMesh(
      meshOptions(flags, secret ?? generateGroupSecret(), {
        discovery: (advertisement) => {
          discovery = mdnsDiscovery({ advertisement, app: flags.app, loopbackOnly: !flags.lan, ...(flags.interfaces !== undefined ? { interfaces: flags.interfaces } : {}) })
          discovery.on('peer:foreign', (e) => foreign.set(e.id, e))
          return discovery
        },
      }),
    )
    const multicastErrors: string[] = []
    mesh.on('error', (e) => {
      if (/Multicast|Unreachable|Interface/.test(e.name)) multicastErrors.push(`${e.name}: ${e.message}`)
    })
    add({ check: 'mesh start', verdict: 'ok', detail: `listening on UDP port ${mesh.addresses[0]?.port ?? '?'} (${flags.lan ? 'LAN' : 'loopback only'}); listening for ${flags.wait ?? DEFAULT_WAIT_MS} ms` })
    await mesh.ready({ peers: Number.MAX_SAFE_INTEGER, timeoutMs: flags.wait ?? DEFAULT_WAIT_MS }).catch(() => undefined)
    if (multicastErrors.length > 0) {
      for (const m of multicastErrors) add({ check: 'multicast', verdict: 'fail', detail: m, fix: 'allow UDP 5353 to/from 224.0.0.251 (and ff02::fb) on this interface, or use static peers (MeshOptions.peers)' })
    } else add({ check: 'multicast', verdict: 'ok', detail: flags.lan ? 'mDNS sockets open on every interface used' : 'mDNS works on loopback (--lan checks the network)' })
    for (const c of peerChecks(mesh, secret !== undefined, foreign)) add(c)
  } catch (err) {
    add({ check: 'mesh start', verdict: 'fail', detail: `${(err as Error).name}: ${(err as Error).message}`, fix: fixFor(err as Error) })
  } finally {
    await mesh?.stop()
  }
  const failed = checks.filter((c) => c.verdict === 'fail').length
  const warned = checks.filter((c) => c.verdict === 'warn').length
  if (!flags.json) io.out(`\n${failed === 0 ? 'no problems found' : `${failed} problem(s)`}${warned > 0 ? `, ${warned} warning(s)` : ''}`)
  return failed === 0 ? 0 : 1
}

function nodeCheck(): Check {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number)
  const ok = major > 20 || (major === 20 && minor >= 19)
  return ok
    ? { check: 'node', verdict: 'ok', detail: `Node ${process.versions.node}` }
    : { check: 'node', verdict: 'fail', detail: `Node ${process.versions.node} is too old`, fix: 'install Node 20.19 or newer' }
}

/** Interfaces and their addresses: where a mesh can form. */
export function interfaceChecks(lan: boolean, only: string[] | undefined, table = networkInterfaces()): Check[] {
  const checks: Check[] = []
  let usable = 0
  for (const [name, addresses] of Object.entries(table)) {
    if (addresses === undefined || (only !== undefined && !only.includes(name))) continue
    const v4 = addresses.filter((a) => a.family === 'IPv4').map((a) => a.address)
    const v6ll = addresses.filter((a) => a.family === 'IPv6' && /^fe80:/i.test(a.address)).map((a) => a.address)
    const internal = addresses.every((a) => a.internal)
    if (!internal && (v4.length > 0 || v6ll.length > 0)) usable++
    checks.push({
      check: `interface ${name}`,
      verdict: 'info',
      detail: `${internal ? 'loopback' : 'network'}; IPv4 ${v4.join(', ') || 'none'}; IPv6 link-local ${v6ll.join(', ') || 'none'}`,
    })
  }
  if (only !== undefined) for (const name of only) if (table[name] === undefined) checks.push({ check: `interface ${name}`, verdict: 'fail', detail: 'no such interface', fix: `pick one of: ${Object.keys(table).join(', ')}` })
  if (lan && usable === 0) checks.push({ check: 'network', verdict: 'fail', detail: 'no network interface with an IPv4 or IPv6 link-local address', fix: 'connect to the LAN (Wi-Fi or cable); a mesh can only form on this machine' })
  return checks
}

/** Whether the UDP port can be bound and receives a datagram sent to it. */
export async function udpPortCheck(port: number, lan: boolean): Promise<Check> {
  const socket = createSocket('udp4')
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject)
      socket.bind(port, lan ? '0.0.0.0' : '127.0.0.1', () => resolve())
    })
    const bound = socket.address().port
    const got = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 1_000)
      socket.once('message', () => {
        clearTimeout(timer)
        resolve(true)
      })
    })
    socket.send(Buffer.from('meshkit-doctor'), bound, '127.0.0.1')
    return (await got)
      ? { check: 'udp port', verdict: 'ok', detail: `UDP port ${bound} can be bound and receives datagrams` }
      : { check: 'udp port', verdict: 'fail', detail: `UDP port ${bound} receives nothing`, fix: 'a local firewall drops UDP: allow the QUIC port (--port) and 5353' }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    return {
      check: 'udp port',
      verdict: 'fail',
      detail: `cannot bind UDP port ${port}: ${code ?? (err as Error).message}`,
      fix: code === 'EADDRINUSE' ? 'another program uses it: pick another --port, or 0 for any' : code === 'EACCES' ? 'ports below 1024 need privileges: use a higher --port' : 'check the port and the firewall',
    }
  } finally {
    socket.close()
  }
}

function peerChecks(mesh: Mesh, ownGroup: boolean, foreign: Map<string, { groupTag: string; version: number; address: string }>): Check[] {
  const checks: Check[] = []
  const peers = mesh.peers()
  const ready = peers.filter((p) => p.state === 'ready')
  checks.push({ check: 'peers', verdict: peers.length === 0 && foreign.size === 0 ? 'warn' : 'ok', detail: `${peers.length} discovered, ${ready.length} connected`, ...(peers.length === 0 && foreign.size === 0 ? { fix: 'no device of this app answered: is another one running with the same --app (and --lan if it is on the network)?' } : {}) })
  if (foreign.size > 0) {
    const tags = [...new Set([...foreign.values()].map((f) => f.groupTag))]
    checks.push({
      check: 'foreign groups',
      verdict: ownGroup ? 'warn' : 'info',
      detail: `${foreign.size} device(s) of this app in other groups (${tags.join(', ')}) at ${[...new Set([...foreign.values()].map((f) => f.address))].join(', ')}`,
      ...(ownGroup ? { fix: 'if they should be in your mesh, they have another group secret: use the same one everywhere' } : {}),
    })
  }
  for (const p of peers.filter((x) => x.state !== 'ready')) {
    const timeline = mesh.timeline(p.id)
    const why = [...timeline].reverse().find((e) => e.event === 'rejected' || e.event === 'dial-failed' || e.event === 'protocol-error' || e.event === 'disconnected')
    checks.push({
      check: `peer ${p.id.slice(0, 8)}`,
      verdict: 'fail',
      detail: `discovered but ${p.state}${why !== undefined ? `: ${why.event} ${JSON.stringify(why.detail ?? {})}` : ''}`,
      fix: fixForPeer(why?.detail?.reason as string | undefined, why?.event),
    })
  }
  return checks
}

function fixForPeer(reason: string | undefined, event: string | undefined): string {
  if (reason === 'version-unsupported') return 'the devices run different meshkit protocol versions: update both'
  if (reason === 'wrong-group' || reason === 'bad-credential') return 'the device has another group secret: use the same one everywhere'
  if (reason === 'impostor') return 'a device claims a known id with another key: check for a copied identity directory'
  if (event === 'dial-failed') return 'its QUIC port is not reachable: a firewall between the devices drops UDP'
  return 'see `meshkit up --json` on both devices for the per-peer timeline'
}

function fixFor(err: Error): string {
  if (err.name === 'InvalidGroupSecretError') return 'the group secret is too short: `meshkit secret` makes a good one'
  if (err.name === 'ListenError') return 'the port is in use or not allowed: pick another --port, or 0'
  if (err.name === 'MulticastDeniedError') return 'multicast is not allowed here: allow UDP 5353 multicast, or use static peers'
  return 'run with DEBUG=meshkit:* for details'
}
