/**
 * A sandbox LAN: N "devices", each in its own Linux network namespace, joined
 * by a bridge that lives in a namespace of its own, so nothing is created in
 * the machine's root namespace and nothing multicasts from it. Loss is
 * injected with nftables (the kernel here has no netem), links flap from the
 * bridge side (like a device leaving the Wi-Fi), partitions drop traffic
 * between groups. Every process started inside is tracked and killed by PID on
 * teardown, which also runs on failure and on process exit.
 *
 * Needs root (CI has it). {@link sandboxAvailable} says whether it can run here.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { JsonProcess } from '../json-process.js'

export class SandboxError extends Error {
  override readonly name = 'SandboxError'
}

export interface SandboxStatus {
  ok: boolean
  reason?: string
}

function has(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0
}

/** Whether sandbox LANs can be built here: root, `ip` and `nft`. The reason when not. */
export function sandboxAvailable(): SandboxStatus {
  if (process.platform !== 'linux') return { ok: false, reason: 'sandbox LANs need Linux network namespaces' }
  if (process.getuid?.() !== 0) return { ok: false, reason: 'sandbox LANs need root (ip netns, nftables); CI runs as root' }
  if (!has('ip')) return { ok: false, reason: 'the `ip` command (iproute2) is missing: apt-get install -y iproute2' }
  if (!has('nft')) return { ok: false, reason: 'the `nft` command is missing: apt-get install -y nftables' }
  const probe = `mkprobe${randomBytes(3).toString('hex')}`
  const add = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' })
  if (add.status !== 0) return { ok: false, reason: `cannot create network namespaces: ${add.stderr.trim()}` }
  spawnSync('ip', ['netns', 'del', probe])
  return { ok: true }
}

/** Runs a command, throwing a SandboxError with its stderr on failure. */
export function sh(command: string, args: string[], input?: string): string {
  const r = spawnSync(command, args, { encoding: 'utf8', input })
  if (r.status !== 0) throw new SandboxError(`${command} ${args.join(' ')} failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout).trim()}`)
  return r.stdout
}

const live = new Set<SandboxLan>()
let exitHooked = false
function hookExit(): void {
  if (exitHooked) return
  exitHooked = true
  const cleanup = (): void => {
    for (const lan of live) lan.destroySync()
  }
  process.once('exit', cleanup)
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      cleanup()
      process.exit(130)
    })
  }
}

export interface SandboxLanOptions {
  hosts: number
  /** Namespace name prefix; unique per run by default (`mk<random>`). */
  prefix?: string
  /** IPv4 subnet's first three octets. Default `10.77.0`. */
  subnet?: string
}

export interface SpawnInHostOptions extends Omit<SpawnOptions, 'stdio'> {
  /** Inherit stdio instead of piping (debugging). */
  inherit?: boolean
}

/** One device of the LAN: its namespace, its address, what runs in it. */
export class SandboxHost {
  constructor(
    readonly lan: SandboxLan,
    readonly index: number,
    /** Network namespace name. */
    readonly ns: string,
    /** IPv4 address on the LAN. */
    readonly address: string,
    /** Name of the veth end in the bridge namespace (flap it to take the device off the LAN). */
    readonly bridgePort: string,
  ) {}

  /** Runs a command inside the host and returns its stdout. */
  exec(command: string, args: string[] = [], input?: string): string {
    return sh('ip', ['netns', 'exec', this.ns, command, ...args], input)
  }

  /** Starts a process inside the host (tracked; killed by PID on teardown). */
  spawn(command: string, args: string[] = [], options: SpawnInHostOptions = {}): ChildProcess {
    const { inherit, ...rest } = options
    // `ip netns exec` execs the command: the PID we get is the command's own
    const child = spawn('ip', ['netns', 'exec', this.ns, command, ...args], { ...rest, stdio: inherit === true ? 'inherit' : ['pipe', 'pipe', 'pipe'] })
    this.lan.track(child)
    return child
  }

  /** Starts `node <script> ...args` inside the host, speaking JSON lines. */
  spawnNode(script: string, args: string[] = [], options: SpawnInHostOptions & { nodeArgs?: string[] } = {}): JsonProcess {
    const { nodeArgs = [], ...rest } = options
    return new JsonProcess(this.spawn(process.execPath, [...nodeArgs, script, ...args], rest))
  }

  /** Drops PCT% of packets arriving at (`ingress`) or leaving (`egress`) this host. 0 removes the rule. */
  loss(percent: number, direction: 'ingress' | 'egress' = 'ingress'): void {
    const table = `mkloss_${direction}`
    spawnSync('ip', ['netns', 'exec', this.ns, 'nft', 'delete', 'table', 'netdev', table], { stdio: 'ignore' })
    if (percent <= 0) return
    if (percent > 100) throw new SandboxError(`loss ${percent}% is not a percentage`)
    const rule = percent >= 100 ? 'drop' : `numgen random mod 100 < ${Math.round(percent)} drop`
    this.exec('nft', ['-f', '-'], `table netdev ${table} {\n  chain c {\n    type filter hook ${direction} device eth0 priority 0; policy accept;\n    ${rule}\n  }\n}\n`)
  }

  /** Takes the device off the LAN (bridge side, like losing Wi-Fi: its own routes survive) or back on. */
  link(up: boolean): void {
    sh('ip', ['-n', this.lan.bridgeNs, 'link', 'set', this.bridgePort, up ? 'up' : 'down'])
  }

  /**
   * Whether a TCP connection from this host to `address:port` succeeds within
   * `timeoutMs` (something must listen there, e.g. {@link SandboxHost.listen}).
   */
  canConnect(address: string, port: number, timeoutMs = 1000): boolean {
    const script = `const s=require('net').connect(${port},${JSON.stringify(address)});s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(1));setTimeout(()=>process.exit(2),${timeoutMs})`
    return spawnSync('ip', ['netns', 'exec', this.ns, process.execPath, '-e', script]).status === 0
  }

  /** Starts a TCP listener on `port` that accepts and closes connections (a reachability target). */
  listen(port: number): ChildProcess {
    return this.spawn(process.execPath, ['-e', `require('net').createServer((s)=>s.end()).listen(${port},'0.0.0.0',()=>console.log('listening'))`])
  }

  /** Drops all traffic to and from these addresses (partition), or clears it with an empty list. */
  block(addresses: string[]): void {
    spawnSync('ip', ['netns', 'exec', this.ns, 'nft', 'delete', 'table', 'inet', 'mkpartition'], { stdio: 'ignore' })
    if (addresses.length === 0) return
    const set = addresses.join(', ')
    this.exec(
      'nft',
      ['-f', '-'],
      `table inet mkpartition {\n  chain in { type filter hook input priority 0; policy accept; ip saddr { ${set} } drop; }\n  chain out { type filter hook output priority 0; policy accept; ip daddr { ${set} } drop; }\n}\n`,
    )
  }
}

export class SandboxLan {
  readonly hosts: SandboxHost[] = []
  readonly bridgeNs: string
  private readonly processes = new Set<ChildProcess>()
  private destroyed = false

  constructor(readonly prefix: string) {
    this.bridgeNs = `${prefix}-br`
  }

  host(i: number): SandboxHost {
    const h = this.hosts[i]
    if (h === undefined) throw new SandboxError(`no host ${i} (the LAN has ${this.hosts.length})`)
    return h
  }

  /** @internal */
  track(child: ChildProcess): void {
    this.processes.add(child)
    child.once('exit', () => this.processes.delete(child))
  }

  /** Splits the hosts into groups that cannot reach each other (by index). */
  partition(groups: number[][]): void {
    const groupOf = new Map(groups.flatMap((g, gi) => g.map((h) => [h, gi] as const)))
    for (const h of this.hosts) {
      const mine = groupOf.get(h.index)
      h.block(this.hosts.filter((o) => o !== h && groupOf.get(o.index) !== mine).map((o) => o.address))
    }
  }

  /** Removes every partition. */
  heal(): void {
    for (const h of this.hosts) h.block([])
  }

  /** Kills every process started in the LAN (by PID) and deletes its namespaces. */
  async destroy(): Promise<void> {
    const waits = [...this.processes].map((p) => new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r(undefined) : p.once('exit', r))))
    this.destroySync()
    await Promise.race([Promise.all(waits), new Promise((r) => setTimeout(r, 5000))])
  }

  /** @internal synchronous teardown (also used from the process exit hook). */
  destroySync(): void {
    if (this.destroyed) return
    this.destroyed = true
    live.delete(this)
    for (const p of this.processes) {
      if (p.pid !== undefined && p.exitCode === null && p.signalCode === null) {
        try {
          process.kill(p.pid, 'SIGKILL')
        } catch {
          // already gone
        }
      }
    }
    for (const ns of [...this.hosts.map((h) => h.ns), this.bridgeNs]) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' })
  }
}

/** Builds a LAN of `hosts` namespaces (10.77.0.1, .2, ...) bridged together. */
export async function createSandboxLan(options: SandboxLanOptions): Promise<SandboxLan> {
  const status = sandboxAvailable()
  if (!status.ok) throw new SandboxError(status.reason)
  if (options.hosts < 1 || options.hosts > 200) throw new SandboxError(`hosts must be 1-200, got ${options.hosts}`)
  const prefix = options.prefix ?? `mk${randomBytes(3).toString('hex')}`
  const subnet = options.subnet ?? '10.77.0'
  const lan = new SandboxLan(prefix)
  live.add(lan)
  hookExit()
  try {
    const br = lan.bridgeNs
    sh('ip', ['netns', 'add', br])
    sh('ip', ['-n', br, 'link', 'set', 'lo', 'up'])
    sh('ip', ['-n', br, 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0', 'mcast_snooping', '0'])
    sh('ip', ['-n', br, 'link', 'set', 'br0', 'up'])
    for (let i = 0; i < options.hosts; i++) {
      const ns = `${prefix}-h${i}`
      const port = `vh${i}`
      const address = `${subnet}.${i + 1}`
      sh('ip', ['netns', 'add', ns])
      // create the pair from the bridge namespace, the device end straight into the host: nothing in the root namespace
      sh('ip', ['-n', br, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns])
      sh('ip', ['-n', br, 'link', 'set', port, 'master', 'br0', 'up'])
      sh('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv6.conf.eth0.accept_dad=0'])
      sh('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.accept_dad=0'])
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up'])
      sh('ip', ['-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0'])
      sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'multicast', 'on', 'up'])
      sh('ip', ['-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0'])
      lan.hosts.push(new SandboxHost(lan, i, ns, address, port))
    }
  } catch (err) {
    lan.destroySync()
    throw err
  }
  return lan
}

/**
 * A single throwaway namespace with only loopback up: the cheap mode for
 * multi-process mDNS on one "machine" (IPv4 multicast over `lo` works; IPv6
 * over `lo` does not).
 */
export async function createLoopbackSandbox(options: { prefix?: string } = {}): Promise<SandboxLan> {
  const status = sandboxAvailable()
  if (!status.ok) throw new SandboxError(status.reason)
  const prefix = options.prefix ?? `mk${randomBytes(3).toString('hex')}`
  const lan = new SandboxLan(prefix)
  live.add(lan)
  hookExit()
  const ns = `${prefix}-h0`
  try {
    sh('ip', ['netns', 'add', lan.bridgeNs]) // unused, but keeps teardown uniform
    sh('ip', ['netns', 'add', ns])
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up'])
    sh('ip', ['-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', 'lo'])
  } catch (err) {
    lan.destroySync()
    throw err
  }
  lan.hosts.push(new SandboxHost(lan, 0, ns, '127.0.0.1', 'lo'))
  return lan
}
