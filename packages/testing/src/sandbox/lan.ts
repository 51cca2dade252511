/**
 * A sandbox LAN: N "devices", each in its own Linux network namespace, joined
 * by a bridge that lives in a namespace of its own, so nothing is created in
 * the machine's root namespace and nothing multicasts from it. Loss is
 * injected with nftables (the kernel here has no netem), links flap from the
 * bridge side (like a device leaving the Wi-Fi), partitions put groups of
 * devices on separate bridges. Every process started inside is tracked and its
 * process group killed by PID on teardown, which also runs on failure, on
 * process exit and on SIGINT / SIGTERM / SIGHUP.
 *
 * Needs root (CI has it). {@link sandboxAvailable} says whether it can run here.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { JsonProcess } from '../json-process.js'
import { newPrefix, register, sweepStaleSandboxes, unregister } from './cleanup.js'
import { has, quiet, run, SandboxError, sh } from './shell.js'

export { SandboxError, sh } from './shell.js'

export interface SandboxStatus {
  ok: boolean
  /** Why not, and what to do, when `ok` is false. */
  reason?: string
}

/** Whether sandbox LANs can be built here: Linux, root, `ip` and `nft`, and namespaces can be created. The reason when not. */
export function sandboxAvailable(): SandboxStatus {
  if (process.platform !== 'linux') return { ok: false, reason: 'sandbox LANs need Linux network namespaces' }
  if (process.getuid?.() !== 0) return { ok: false, reason: 'sandbox LANs need root (ip netns, nftables); CI runs as root' }
  if (!has('ip')) return { ok: false, reason: 'the `ip` command (iproute2) is missing: apt-get install -y iproute2' }
  if (!has('nft')) return { ok: false, reason: 'the `nft` command is missing: apt-get install -y nftables' }
  const probe = `${newPrefix()}-h0`
  const add = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' })
  if (add.status !== 0) return { ok: false, reason: `cannot create network namespaces: ${add.stderr.trim()}` }
  quiet('ip', ['netns', 'del', probe])
  return { ok: true }
}

export interface SandboxLanOptions {
  /** Number of devices (1-200). */
  hosts: number
  /** Namespace name prefix. Default: unique per run, naming this process (`mk-<pid>-<hex>`). */
  prefix?: string
  /** IPv4 subnet's first three octets; host K gets `<subnet>.<K+1>/24`. Default `10.77.0`. */
  subnet?: string
}

export interface SpawnInHostOptions extends Omit<SpawnOptions, 'stdio' | 'detached'> {
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
    /** IPv4 address on the LAN (`127.0.0.1` in the loopback sandbox). */
    readonly address: string,
    /** Name of the veth end in the bridge namespace (undefined in the loopback sandbox). */
    readonly bridgePort: string | undefined,
  ) {}

  /** Runs a command inside the host and returns its stdout (synchronous; for quick tools). */
  exec(command: string, args: string[] = [], input?: string): string {
    return sh('ip', ['netns', 'exec', this.ns, command, ...args], input)
  }

  /**
   * Starts a process inside the host. It is tracked: on teardown its process
   * group is killed by PID. (`ip netns exec` execs the command, so the PID is
   * the command's own.)
   */
  spawn(command: string, args: string[] = [], options: SpawnInHostOptions = {}): ChildProcess {
    const { inherit, ...rest } = options
    const child = spawn('ip', ['netns', 'exec', this.ns, command, ...args], { ...rest, detached: true, stdio: inherit === true ? 'inherit' : ['pipe', 'pipe', 'pipe'] })
    this.lan.track(child)
    return child
  }

  /** Starts `node [nodeArgs] <script> ...args` inside the host, speaking JSON lines. */
  spawnNode(script: string, args: string[] = [], options: SpawnInHostOptions & { nodeArgs?: string[] } = {}): JsonProcess {
    const { nodeArgs = [], ...rest } = options
    return new JsonProcess(this.spawn(process.execPath, [...nodeArgs, script, ...args], rest))
  }

  /** The IPv6 link-local address of eth0 with its scope (`fe80::...%eth0`). */
  linkLocal(): string {
    const out = this.exec('ip', ['-o', '-6', 'addr', 'show', 'dev', 'eth0', 'scope', 'link'])
    const m = /inet6 (fe80:[0-9a-f:]+)\//i.exec(out)
    if (m === null) throw new SandboxError(`host ${this.index} has no IPv6 link-local address on eth0`)
    return `${m[1]!}%eth0`
  }

  /**
   * Drops PCT% of the packets arriving at (`ingress`, independent per
   * receiver) or leaving (`egress`, lost for everyone) this host's eth0, with
   * nftables. 0 removes the rule.
   */
  async loss(percent: number, direction: 'ingress' | 'egress' = 'ingress'): Promise<void> {
    if (!(percent >= 0 && percent <= 100)) throw new SandboxError(`loss ${percent}% is not a percentage`)
    this.requireBridge('loss')
    const table = `mkloss_${direction}`
    const rule = percent >= 100 ? 'drop' : `numgen random mod 100 < ${Math.round(percent)} drop`
    // delete-and-recreate in one atomic nft transaction
    const script = `table netdev ${table}\ndelete table netdev ${table}\n${
      percent > 0 ? `table netdev ${table} {\n  chain c {\n    type filter hook ${direction} device eth0 priority 0; policy accept;\n    ${rule}\n  }\n}\n` : ''
    }`
    await run('ip', ['netns', 'exec', this.ns, 'nft', '-f', '-'], script)
  }

  /** Takes the device off the LAN from the bridge side (like losing Wi-Fi: its own address and routes survive), or back on. */
  async link(up: boolean): Promise<void> {
    await run('ip', ['-n', this.lan.bridgeNs(), 'link', 'set', this.requireBridge('link'), up ? 'up' : 'down'])
  }

  /** Whether a TCP connection from this host to `address:port` succeeds within `timeoutMs` (something must listen there, see {@link listen}). */
  async canConnect(address: string, port: number, timeoutMs = 1000): Promise<boolean> {
    const script = `const s=require('net').connect(${port},${JSON.stringify(address)});s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(1));setTimeout(()=>process.exit(2),${timeoutMs})`
    return run('ip', ['netns', 'exec', this.ns, process.execPath, '-e', script]).then(
      () => true,
      () => false,
    )
  }

  /** Starts a TCP listener on `port` that accepts and closes connections (a reachability target); resolves once it listens. */
  async listen(port: number): Promise<ChildProcess> {
    const child = this.spawn(process.execPath, ['-e', `require('net').createServer((s)=>s.end()).listen(${port},'::',()=>console.log('listening'))`])
    await new Promise<void>((resolve, reject) => {
      child.stdout?.once('data', () => resolve())
      child.once('exit', (code) => reject(new SandboxError(`listener on port ${port} in host ${this.index} exited (${code})`)))
    })
    return child
  }

  private requireBridge(what: string): string {
    if (this.bridgePort === undefined) throw new SandboxError(`${what}() needs a LAN: the loopback sandbox has no bridge`)
    return this.bridgePort
  }
}

export class SandboxLan {
  readonly hosts: SandboxHost[] = []
  private readonly processes = new Set<ChildProcess>()
  private destroyed = false

  constructor(
    /** Prefix of every namespace of this LAN. */
    readonly prefix: string,
    private readonly hasBridge: boolean,
  ) {}

  /** Namespace of the bridges. */
  bridgeNs(): string {
    if (!this.hasBridge) throw new SandboxError('the loopback sandbox has no bridge')
    return `${this.prefix}-br`
  }

  /** Every namespace of this LAN. */
  get namespaces(): string[] {
    return [...this.hosts.map((h) => h.ns), ...(this.hasBridge ? [this.bridgeNs()] : [])]
  }

  host(i: number): SandboxHost {
    const h = this.hosts[i]
    if (h === undefined) throw new SandboxError(`no host ${i} (the LAN has ${this.hosts.length})`)
    return h
  }

  /** @internal */
  track(child: ChildProcess): void {
    if (this.destroyed) {
      killGroup(child)
      throw new SandboxError('this sandbox was destroyed')
    }
    this.processes.add(child)
    child.once('exit', () => this.processes.delete(child))
  }

  /**
   * Splits the hosts (by index) into groups on separate bridges: nothing
   * passes between groups (IPv4, IPv6, ARP alike), links stay up. Hosts in no
   * group are each alone. {@link heal} joins everyone again.
   */
  async partition(groups: number[][]): Promise<void> {
    const groupOf = new Map<number, number>()
    for (const [g, members] of groups.entries()) {
      for (const i of members) {
        this.host(i)
        if (groupOf.has(i)) throw new SandboxError(`host ${i} is in two groups`)
        groupOf.set(i, g)
      }
    }
    let next = groups.length
    for (const h of this.hosts) if (!groupOf.has(h.index)) groupOf.set(h.index, next++)
    await this.placeOnBridges(groupOf)
  }

  /** Ends every partition: all hosts back on one bridge. */
  async heal(): Promise<void> {
    await this.placeOnBridges(new Map(this.hosts.map((h) => [h.index, 0])))
  }

  private async placeOnBridges(bridgeOf: Map<number, number>): Promise<void> {
    const ns = this.bridgeNs()
    const existing = sh('ip', ['-n', ns, '-o', 'link', 'show', 'type', 'bridge'])
    const batch: string[] = []
    for (const b of new Set(bridgeOf.values())) {
      if (!existing.includes(` br${b}:`)) batch.push(`link add br${b} type bridge stp_state 0 forward_delay 0 mcast_snooping 0`, `link set br${b} up`)
    }
    for (const h of this.hosts) batch.push(`link set ${h.bridgePort!} master br${bridgeOf.get(h.index)!}`)
    await run('ip', ['-n', ns, '-batch', '-'], `${batch.join('\n')}\n`)
    // forget neighbours that failed to resolve across the cut, so traffic flows again at once (not after ARP/ND retries)
    await Promise.all(this.hosts.map((h) => run('ip', ['-n', h.ns, 'neigh', 'flush', 'dev', 'eth0'])))
  }

  /** Kills every process started in the LAN (its process group, by PID) and deletes the namespaces. */
  async destroy(): Promise<void> {
    const exits = [...this.processes].map((p) => new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r(undefined) : p.once('exit', r))))
    this.destroySync()
    await Promise.race([Promise.all(exits), new Promise((r) => setTimeout(r, 5000).unref())])
  }

  /** @internal synchronous teardown (also run from the process exit and signal hooks). */
  destroySync(): void {
    if (this.destroyed) return
    this.destroyed = true
    unregister(this)
    for (const p of this.processes) killGroup(p)
    for (const ns of this.namespaces) quiet('ip', ['netns', 'del', ns])
  }
}

function killGroup(p: ChildProcess): void {
  if (p.pid === undefined || p.exitCode !== null || p.signalCode !== null) return
  for (const target of [-p.pid, p.pid]) {
    try {
      process.kill(target, 'SIGKILL')
    } catch {
      // gone already
    }
  }
}

/** Builds a LAN of `hosts` namespaces (10.77.0.1, .2, ... on eth0, IPv6 link-local too) on one bridge. */
export async function createSandboxLan(options: SandboxLanOptions): Promise<SandboxLan> {
  const status = sandboxAvailable()
  if (!status.ok) throw new SandboxError(status.reason)
  if (!Number.isInteger(options.hosts) || options.hosts < 1 || options.hosts > 200) throw new SandboxError(`hosts must be 1-200, got ${options.hosts}`)
  sweepStaleSandboxes()
  const lan = new SandboxLan(options.prefix ?? newPrefix(), true)
  const subnet = options.subnet ?? '10.77.0'
  register(lan)
  try {
    const br = lan.bridgeNs()
    sh('ip', ['netns', 'add', br])
    const bridge = ['link set lo up', 'link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0', 'link set br0 up']
    for (let i = 0; i < options.hosts; i++) {
      const ns = `${lan.prefix}-h${i}`
      const port = `vh${i}`
      const address = `${subnet}.${i + 1}`
      sh('ip', ['netns', 'add', ns])
      lan.hosts.push(new SandboxHost(lan, i, ns, address, port))
      // the pair is created from the bridge namespace with the device end straight in the host: nothing in the root namespace
      bridge.push(`link add ${port} type veth peer name eth0 netns ${ns}`, `link set ${port} master br0 up`)
    }
    sh('ip', ['-n', br, '-batch', '-'], `${bridge.join('\n')}\n`)
    for (const h of lan.hosts) {
      // no duplicate address detection, or link-local addresses stay tentative for ~3 s
      sh('ip', ['netns', 'exec', h.ns, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0', 'net.ipv6.conf.eth0.accept_dad=0'])
      const setup = ['link set lo up', `addr add ${h.address}/24 dev eth0`, 'link set eth0 multicast on up', 'route add 224.0.0.0/4 dev eth0']
      sh('ip', ['-n', h.ns, '-batch', '-'], `${setup.join('\n')}\n`)
    }
  } catch (err) {
    lan.destroySync()
    throw err
  }
  return lan
}

/**
 * The cheap mode: a single throwaway namespace with only loopback up (and a
 * multicast route on it). Several processes in it can run real mDNS with
 * `interfaces: ['lo']` (IPv4 multicast over `lo` works; IPv6 over `lo` does
 * not); no bridge, so no loss, flaps or partitions.
 */
export async function createLoopbackSandbox(options: { prefix?: string } = {}): Promise<SandboxLan> {
  const status = sandboxAvailable()
  if (!status.ok) throw new SandboxError(status.reason)
  sweepStaleSandboxes()
  const lan = new SandboxLan(options.prefix ?? newPrefix(), false)
  register(lan)
  const ns = `${lan.prefix}-h0`
  try {
    sh('ip', ['netns', 'add', ns])
    lan.hosts.push(new SandboxHost(lan, 0, ns, '127.0.0.1', undefined))
    sh('ip', ['-n', ns, '-batch', '-'], 'link set lo up\nroute add 224.0.0.0/4 dev lo\n')
  } catch (err) {
    lan.destroySync()
    throw err
  }
  return lan
}
