import { spawn, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterEach, describe, expect, test, vi } from 'vitest'
import {
  assertMulticastAllowed,
  createLoopbackSandbox,
  createSandboxLan,
  inRootNetworkNamespace,
  JsonProcess,
  parseAvahiBrowse,
  parseAvahiLine,
  RootNamespaceError,
  sandboxAvailable,
  sweepStaleSandboxes,
  type SandboxLan,
} from '../src/index.js'

const status = sandboxAvailable()
if (!status.ok) process.stderr.write(`sandbox harness suite skipped: ${status.reason}\n`)
const namespaces = (): string[] => spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').map((l) => l.split(' ')[0]!).filter(Boolean)
/** Running (a killed process whose parent is gone stays a zombie until PID 1 reaps it: that counts as dead). */
const processAlive = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}
/** SIGKILL takes effect asynchronously: wait (with a deadline) for `pid` to be gone. */
const gone = async (pid: number): Promise<void> => vi.waitFor(() => expect(processAlive(pid)).toBe(false), { timeout: 5_000 })
const DIST = pathToFileURL(resolve(import.meta.dirname, '../dist/index.js')).href
const DISCOVERY_FIXTURE = resolve(import.meta.dirname, '../dist/fixtures/discovery-node.js')

let lan: SandboxLan | undefined
afterEach(async () => {
  await lan?.destroy()
  lan = undefined
})

/**
 * A separate node process (over the built package) that builds a 2-host LAN,
 * starts a process group (a shell with a child) in host 1 and reports the
 * namespaces and PIDs, then waits to be killed.
 */
function lanOwner(): JsonProcess {
  const script = `
    import { createSandboxLan } from ${JSON.stringify(DIST)}
    const lan = await createSandboxLan({ hosts: 2 })
    const shell = lan.host(1).spawn('sh', ['-c', 'sleep 300 & echo $!; wait'])
    shell.stdout.once('data', (d) => console.log(JSON.stringify({ ev: 'up', namespaces: lan.namespaces, shell: shell.pid, grandchild: Number(String(d).trim()) })))
    setInterval(() => {}, 1000)
  `
  return new JsonProcess(spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'pipe'] }))
}

describe('the root-namespace guard', () => {
  test('this test process runs in the root namespace and is refused unless confined to loopback', () => {
    expect(inRootNetworkNamespace()).toBe(true)
    expect(() => assertMulticastAllowed({})).toThrow(RootNamespaceError)
    expect(() => assertMulticastAllowed({ loopbackOnly: true })).not.toThrow()
  })
})

describe('avahi-browse output', () => {
  test('appearances, resolutions (with escaped names and TXT containing ";") and removals parse', () => {
    const out = [
      '+;eth0;IPv4;x;_meshkit._udp;local',
      '=;eth0;IPv4;6f9619ff-8b86-4011-b42d-00c04fc964ff;_meshkit._udp;local;h.local;10.0.0.1;4000;"v=1" "id=x;y"',
      '=;eth0;IPv4;my\\032printer;_meshkit._udp;local;h.local;10.0.0.2;4001;',
      '-;eth0;IPv4;x;_meshkit._udp;local',
      'garbage',
    ].join('\n')
    expect(parseAvahiBrowse(out)).toEqual([
      { event: '=', iface: 'eth0', protocol: 'IPv4', name: '6f9619ff-8b86-4011-b42d-00c04fc964ff', type: '_meshkit._udp', domain: 'local', host: 'h.local', address: '10.0.0.1', port: 4000, txt: ['v=1', 'id=x;y'] },
      { event: '=', iface: 'eth0', protocol: 'IPv4', name: 'my printer', type: '_meshkit._udp', domain: 'local', host: 'h.local', address: '10.0.0.2', port: 4001, txt: [] },
    ])
    expect(parseAvahiLine('-;eth0;IPv4;x;_meshkit._udp;local')).toEqual({ event: '-', iface: 'eth0', protocol: 'IPv4', name: 'x', type: '_meshkit._udp', domain: 'local' })
  })
})

describe.skipIf(!status.ok)('sandbox LAN', () => {
  test('hosts reach each other over the bridge (IPv4 and IPv6 link-local); processes run inside; teardown kills them and removes every namespace', async () => {
    lan = await createSandboxLan({ hosts: 3 })
    const names = lan.namespaces
    expect(names).toHaveLength(4)
    expect(namespaces()).toEqual(expect.arrayContaining(names))
    await lan.host(2).listen(7000)
    expect(await lan.host(0).canConnect(lan.host(2).address, 7000)).toBe(true)
    expect(await lan.host(0).canConnect(lan.host(2).linkLocal(), 7000)).toBe(true)
    // a namespaced process sees its own namespace, not the root one
    expect(lan.host(1).exec('ip', ['-o', 'addr', 'show', 'eth0'])).toContain(lan.host(1).address)
    // a process group: the shell and the child it started are both killed on teardown
    const shell = lan.host(1).spawn('sh', ['-c', 'sleep 300 & echo $!; wait'])
    const grandchild = Number(String(await new Promise((r) => shell.stdout!.once('data', r))).trim())
    expect(processAlive(grandchild)).toBe(true)
    await lan.destroy()
    expect(shell.exitCode !== null || shell.signalCode !== null).toBe(true)
    await gone(grandchild)
    expect(namespaces().filter((n) => names.includes(n))).toEqual([])
  }, 30_000)

  test('a partition puts groups on separate bridges: nothing passes between them (IPv4 or IPv6) until healed', async () => {
    lan = await createSandboxLan({ hosts: 4 })
    const l = lan
    await Promise.all(l.hosts.map((h) => h.listen(7000)))
    const reach = async (from: number, to: number): Promise<boolean> => {
      const [v4, v6] = await Promise.all([l.host(from).canConnect(l.host(to).address, 7000), l.host(from).canConnect(l.host(to).linkLocal(), 7000)])
      expect(v4).toBe(v6)
      return v4
    }
    await l.partition([[0], [1, 2]]) // host 3 is in no group: alone
    expect(await reach(0, 1)).toBe(false)
    expect(await reach(1, 2)).toBe(true)
    expect(await reach(2, 3)).toBe(false)
    expect(await reach(3, 0)).toBe(false)
    await l.heal()
    expect(await Promise.all([reach(0, 1), reach(2, 3), reach(3, 0)])).toEqual([true, true, true])
  }, 30_000)

  test('loss and bridge-side link flaps are applied where asked, and removed', async () => {
    lan = await createSandboxLan({ hosts: 2 })
    const l = lan
    await Promise.all([l.host(0).listen(7000), l.host(1).listen(7000)])
    await l.host(0).loss(100, 'ingress')
    expect(l.host(0).exec('nft', ['list', 'tables'])).toContain('mkloss_ingress')
    expect(await l.host(1).canConnect(l.host(0).address, 7000)).toBe(false)
    await l.host(0).loss(30, 'ingress') // replaced, not added
    expect(l.host(0).exec('nft', ['list', 'table', 'netdev', 'mkloss_ingress'])).toContain('mod 100 < 30 drop')
    await l.host(0).loss(0, 'ingress')
    expect(l.host(0).exec('nft', ['list', 'tables'])).not.toContain('mkloss_ingress')
    await l.host(1).loss(100, 'egress')
    expect(await l.host(0).canConnect(l.host(1).address, 7000)).toBe(false)
    await l.host(1).loss(0, 'egress')
    expect(await l.host(1).canConnect(l.host(0).address, 7000, 3000)).toBe(true)
    await l.host(1).link(false)
    expect(await l.host(0).canConnect(l.host(1).address, 7000)).toBe(false)
    // the device's own side is untouched, like a phone that lost the Wi-Fi signal
    expect(l.host(1).exec('ip', ['route', 'show', 'table', 'all'])).toContain('224.0.0.0/4 dev eth0')
    await l.host(1).link(true)
    expect(await l.host(0).canConnect(l.host(1).address, 7000, 3000)).toBe(true)
  }, 30_000)

  test('the cheap loopback mode: one namespace, only lo, and real mDNS between processes in it', async () => {
    lan = await createLoopbackSandbox()
    expect(lan.namespaces).toHaveLength(1)
    expect(lan.host(0).exec('ip', ['-o', 'link', 'show'])).not.toContain('eth0')
    const nodes = [0, 1, 2].map(() => lan!.host(0).spawnNode(DISCOVERY_FIXTURE, [JSON.stringify({ groupTag: 'c0ffee00c0de', interfaces: ['lo'] })]))
    const ids = (await Promise.all(nodes.map((n) => n.waitFor('started', () => true, 20_000)))).map((e) => e.id as string)
    for (const [i, n] of nodes.entries()) {
      await Promise.all(ids.filter((_, j) => j !== i).map((id) => n.waitFor('found', (e) => (e.peer as { id: string }).id === id, 10_000)))
    }
    await expect(lan.host(0).link(false)).rejects.toThrow(/loopback sandbox/)
  }, 30_000)

  test('a SIGTERMed owner tears its sandbox down on the way out', async () => {
    const owner = lanOwner()
    try {
      const up = await owner.waitFor('up', () => true, 20_000)
      const names = up.namespaces as string[]
      expect(namespaces()).toEqual(expect.arrayContaining(names))
      await owner.kill('SIGTERM')
      expect(await owner.exited).toEqual({ code: null, signal: 'SIGTERM' })
      expect(namespaces().filter((n) => names.includes(n))).toEqual([])
      await gone(up.shell as number)
      await gone(up.grandchild as number)
    } finally {
      await owner.kill()
    }
  }, 30_000)

  test("a SIGKILLed owner's namespaces and processes are swept by the next run", async () => {
    const owner = lanOwner()
    try {
      const up = await owner.waitFor('up', () => true, 20_000)
      const names = up.namespaces as string[]
      await owner.kill('SIGKILL')
      // nothing could clean up: the namespaces and the processes inside are still there
      expect(namespaces()).toEqual(expect.arrayContaining(names))
      expect(processAlive(up.grandchild as number)).toBe(true)
      expect(sweepStaleSandboxes().sort()).toEqual(expect.arrayContaining([...names].sort()))
      expect(namespaces().filter((n) => names.includes(n))).toEqual([])
      await gone(up.grandchild as number)
    } finally {
      await owner.kill()
    }
  }, 30_000)
})
