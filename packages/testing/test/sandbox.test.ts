import { spawnSync } from 'node:child_process'
import { afterEach, describe, expect, test } from 'vitest'
import { assertMulticastAllowed, createLoopbackSandbox, createSandboxLan, inRootNetworkNamespace, parseAvahiBrowse, RootNamespaceError, sandboxAvailable, type SandboxLan } from '../src/index.js'

const status = sandboxAvailable()
if (!status.ok) process.stderr.write(`sandbox harness suite skipped: ${status.reason}\n`)
const namespaces = (): string[] => spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').map((l) => l.split(' ')[0]!).filter(Boolean)

let lan: SandboxLan | undefined

/** Starts the TCP reachability target on port 7000 in host `i`. */
async function listening(l: SandboxLan, i: number): Promise<void> {
  const p = l.host(i).listen(7000)
  await new Promise<void>((resolve, reject) => {
    p.stdout?.once('data', () => resolve())
    p.once('exit', (code) => reject(new Error(`listener exited (${code})`)))
  })
}
afterEach(async () => {
  await lan?.destroy()
  lan = undefined
})

describe('the root-namespace guard', () => {
  test('this test process runs in the root namespace and is refused unless confined to loopback', () => {
    expect(inRootNetworkNamespace()).toBe(true)
    expect(() => assertMulticastAllowed({})).toThrow(RootNamespaceError)
    expect(() => assertMulticastAllowed({ loopbackOnly: true })).not.toThrow()
  })

  test('avahi-browse output parses', () => {
    const out = '+;eth0;IPv4;x;_meshkit._udp;local\n=;eth0;IPv4;6f9619ff-8b86-4011-b42d-00c04fc964ff;_meshkit._udp;local;h.local;10.0.0.1;4000;"v=1" "id=x;y"\n'
    expect(parseAvahiBrowse(out)).toEqual([
      { iface: 'eth0', protocol: 'IPv4', name: '6f9619ff-8b86-4011-b42d-00c04fc964ff', type: '_meshkit._udp', domain: 'local', host: 'h.local', address: '10.0.0.1', port: 4000, txt: ['v=1', 'id=x;y'] },
    ])
  })
})

describe.skipIf(!status.ok)('sandbox LAN', () => {
  test('hosts reach each other over the bridge, processes run inside, and teardown removes every namespace and process', async () => {
    lan = await createSandboxLan({ hosts: 3 })
    const names = [lan.bridgeNs, ...lan.hosts.map((h) => h.ns)]
    expect(namespaces()).toEqual(expect.arrayContaining(names))
    await listening(lan, 2)
    expect(lan.host(0).canConnect(lan.host(2).address, 7000)).toBe(true)
    const sleeper = lan.host(1).spawn('sleep', ['60'])
    // a namespaced process sees its own namespace, not the root one
    expect(lan.host(1).exec('ip', ['-o', 'addr', 'show', 'eth0'])).toContain(lan.host(1).address)
    const exited = new Promise((r) => sleeper.once('exit', r))
    await lan.destroy()
    await exited
    expect(namespaces().filter((n) => names.includes(n))).toEqual([])
  }, 30_000)

  test('a partition drops traffic between groups until healed', async () => {
    lan = await createSandboxLan({ hosts: 3 })
    await Promise.all([listening(lan, 1), listening(lan, 2)])
    lan.partition([[0], [1, 2]])
    const reach = (from: number, to: number): boolean => lan!.host(from).canConnect(lan!.host(to).address, 7000)
    expect(reach(0, 1)).toBe(false)
    expect(reach(1, 2)).toBe(true)
    lan.heal()
    expect(reach(0, 1)).toBe(true)
  }, 30_000)

  test('loss and link flaps are applied where asked', async () => {
    lan = await createSandboxLan({ hosts: 2 })
    await Promise.all([listening(lan, 0), listening(lan, 1)])
    lan.host(0).loss(100, 'ingress')
    expect(lan.host(0).exec('nft', ['list', 'tables'])).toContain('mkloss_ingress')
    expect(lan.host(1).canConnect(lan.host(0).address, 7000)).toBe(false)
    lan.host(0).loss(0, 'ingress')
    expect(lan.host(0).exec('nft', ['list', 'tables'])).not.toContain('mkloss_ingress')
    expect(lan.host(1).canConnect(lan.host(0).address, 7000, 3000)).toBe(true)
    lan.host(1).link(false)
    expect(lan.host(0).canConnect(lan.host(1).address, 7000)).toBe(false)
    lan.host(1).link(true)
    expect(lan.host(0).canConnect(lan.host(1).address, 7000, 3000)).toBe(true)
  }, 30_000)

  test('the cheap loopback mode is one namespace with lo up', async () => {
    lan = await createLoopbackSandbox()
    expect(lan.host(0).exec('ip', ['-o', 'link', 'show', 'lo'])).toContain('UP')
    expect(lan.host(0).exec('ip', ['route', 'show', 'table', 'all'])).toContain('224.0.0.0/4 dev lo')
  })
})
