/**
 * Discovery on a sandbox LAN: real mDNS between network namespaces joined by a
 * bridge, loss injected with nftables, links flapped from the bridge side.
 * Needs root; outside CI it skips with the reason printed.
 */
import { createSandboxLan, type SandboxLan } from '@meshkit/testing'
import { afterEach, describe, expect, test } from 'vitest'
import { foundAll, sandbox, startNode, type Node } from './harness.js'

let lan: SandboxLan | undefined
afterEach(async () => {
  await lan?.destroy()
  lan = undefined
})

async function mesh(n: number, options: Record<string, unknown> = {}): Promise<Node[]> {
  lan = await createSandboxLan({ hosts: n })
  const nodes = await Promise.all(Array.from({ length: n }, (_, i) => startNode(lan!, i, options)))
  return nodes
}

describe.skipIf(!sandbox.ok)('mDNS discovery on a sandbox LAN', () => {
  test('3 devices: all pairs found (IPv4 and IPv6 link-local); graceful stop and SIGKILL are both reported lost', async () => {
    const nodes = await mesh(3, { ipv6: true })
    type Seen = { peer: { id: string; addresses: Array<{ family: number; host: string }> } }
    const both = (e: unknown, id: string): boolean => {
      const peer = (e as Seen).peer
      return peer.id === id && peer.addresses.some((a) => a.family === 4) && peer.addresses.some((a) => a.family === 6 && a.host.startsWith('fe80:') && a.host.endsWith('%eth0'))
    }
    for (const n of nodes) {
      await foundAll(n, nodes.filter((o) => o !== n).map((o) => o.id), 5_000)
      // each peer ends up with its IPv4 address and its scoped IPv6 link-local address
      for (const o of nodes.filter((x) => x !== n)) {
        const seen = n.proc.events.some((e) => (e.ev === 'found' || e.ev === 'updated') && both(e, o.id))
        if (!seen) await n.proc.waitFor('updated', (e) => both(e, o.id), 5_000)
      }
    }

    const [a, b, c] = nodes as [Node, Node, Node]
    const sinceA = a.proc.events.length
    b.proc.send({ cmd: 'stop' })
    const goodbye = await a.proc.waitFor('lost', (e) => e.id === b.id, 2_000, sinceA)
    expect(goodbye.reason).toBe('goodbye')

    const killedAt = Date.now()
    await c.proc.kill('SIGKILL')
    const expired = await a.proc.waitFor('lost', (e) => e.id === c.id, 15_000, sinceA)
    expect(expired.reason).toBe('expired')
    expect((expired.t as number) - killedAt).toBeLessThan(10_000)
  }, 60_000)

  test('10 devices: every pair is found', async () => {
    const nodes = await mesh(10)
    await Promise.all(nodes.map((n) => foundAll(n, nodes.filter((o) => o !== n).map((o) => o.id), 10_000)))
  }, 60_000)

  test('30% receive loss on every device: all pairs still converge', async () => {
    lan = await createSandboxLan({ hosts: 6 })
    for (const h of lan.hosts) h.loss(30, 'ingress')
    const nodes = await Promise.all(lan.hosts.map((_, i) => startNode(lan!, i)))
    await Promise.all(nodes.map((n) => foundAll(n, nodes.filter((o) => o !== n).map((o) => o.id), 20_000)))
  }, 90_000)

  test('a device taken off the LAN (bridge side) expires, and is found again when it returns', async () => {
    const nodes = await mesh(3)
    const [a, b] = nodes as [Node, Node, Node]
    await foundAll(a, [b.id], 5_000)
    const since = a.proc.events.length
    lan!.host(b.host).link(false)
    expect((await a.proc.waitFor('lost', (e) => e.id === b.id, 15_000, since)).reason).toBe('expired')
    lan!.host(b.host).link(true)
    await a.proc.waitFor('found', (e) => (e.peer as { id: string }).id === b.id, 10_000, since)
  }, 60_000)

  test('a vanished multicast route does not matter: sends leave through the bound interface', async () => {
    const nodes = await mesh(2)
    const [a, b] = nodes as [Node, Node]
    await foundAll(a, [b.id], 5_000)
    const since = b.proc.events.length
    lan!.host(b.host).exec('ip', ['route', 'del', '224.0.0.0/4', 'dev', 'eth0'])
    b.proc.send({ cmd: 'update', port: 4321 })
    await a.proc.waitFor('updated', (e) => (e.peer as { id: string; port: number }).id === b.id && (e.peer as { port: number }).port === 4321, 5_000)
    expect(b.proc.events.slice(since).filter((e) => e.ev === 'error')).toEqual([])
  }, 60_000)

  test('the device losing its link is a typed NetworkUnreachableError, not a crash; it is found again when the link returns', async () => {
    const nodes = await mesh(2)
    const [a, b] = nodes as [Node, Node]
    await foundAll(a, [b.id], 5_000)
    const since = b.proc.events.length
    lan!.host(b.host).exec('ip', ['link', 'set', 'eth0', 'down'])
    const err = await b.proc.waitFor('error', () => true, 10_000, since)
    expect(err.name).toBe('NetworkUnreachableError')
    expect(String(err.message)).toContain('eth0')
    expect((await a.proc.waitFor('lost', (e) => e.id === b.id, 15_000, since)).reason).toBe('expired')
    expect(b.proc.alive).toBe(true)
    lan!.host(b.host).exec('ip', ['link', 'set', 'eth0', 'up'])
    await a.proc.waitFor('found', (e) => (e.peer as { id: string }).id === b.id, 10_000, since)
  }, 60_000)

  test('the OS refusing multicast (EPERM from a firewall) is a MulticastDeniedError naming the interface', async () => {
    lan = await createSandboxLan({ hosts: 2 })
    lan.host(0).exec('nft', ['-f', '-'], 'table inet mkdeny {\n  chain out { type filter hook output priority 0; policy accept; udp dport 5353 drop; }\n}\n')
    const denied = await startNode(lan, 0)
    const err = await denied.proc.waitFor('error', () => true, 10_000)
    expect(err.name).toBe('MulticastDeniedError')
    expect(String(err.message)).toContain('eth0')
    expect(String(err.message)).toMatch(/firewall|static peers/)
    expect(denied.proc.alive).toBe(true)
    // lifting the block: it announces again and is found
    const other = await startNode(lan, 1)
    lan.host(0).exec('nft', ['delete', 'table', 'inet', 'mkdeny'])
    await other.proc.waitFor('found', (e) => (e.peer as { id: string }).id === denied.id, 10_000)
  }, 60_000)
})

describe.skipIf(!sandbox.ok)('mDNS discovery over IPv6 link-local only', () => {
  test('devices without IPv4 find each other on their scoped link-local addresses', async () => {
    const nodes = await mesh(3, { ipv4: false })
    for (const n of nodes) {
      const found = await foundAll(n, nodes.filter((o) => o !== n).map((o) => o.id), 5_000)
      for (const e of found) {
        const addresses = (e.peer as { addresses: Array<{ family: number; host: string }> }).addresses
        expect(addresses.length).toBeGreaterThan(0)
        expect(addresses.every((a) => a.family === 6 && /^fe80:.*%eth0$/.test(a.host))).toBe(true)
      }
    }
  }, 60_000)
})
