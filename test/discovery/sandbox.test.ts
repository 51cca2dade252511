/**
 * Discovery on a sandbox LAN: real mDNS between network namespaces joined by a
 * bridge, loss injected with nftables, links flapped from the bridge side.
 * Needs root; outside CI it skips with the reason printed.
 */
import { createSandboxLan, type SandboxLan } from '@meshkit/testing'
import { afterEach, describe, expect, test } from 'vitest'
import { allPairsFound, foundAll, lost, peerOf, sandbox, spawnNode, startNode, startNodes, type Node } from './harness.js'

let lan: SandboxLan | undefined
afterEach(async () => {
  await lan?.destroy()
  lan = undefined
})

async function mesh(n: number, options: Record<string, unknown> = {}): Promise<Node[]> {
  lan = await createSandboxLan({ hosts: n })
  return startNodes(lan, options)
}

describe.skipIf(!sandbox.ok)('mDNS discovery on a sandbox LAN', () => {
  test('3 devices: all pairs found (IPv4 and IPv6 link-local); graceful stop and SIGKILL are both reported lost', async () => {
    const nodes = await mesh(3, { ipv6: true })
    const both = (p: ReturnType<typeof peerOf>, id: string): boolean =>
      p.id === id && p.addresses.some((a) => a.family === 4) && p.addresses.some((a) => a.family === 6 && a.host.startsWith('fe80:') && a.host.endsWith('%eth0'))
    for (const n of nodes) {
      await foundAll(n, nodes.filter((o) => o !== n).map((o) => o.id), 5_000)
      // each peer ends up with its IPv4 address and its scoped IPv6 link-local address
      for (const o of nodes.filter((x) => x !== n)) {
        const seen = n.proc.events.some((e) => (e.ev === 'found' || e.ev === 'updated') && both(peerOf(e), o.id))
        if (!seen) await n.proc.waitFor('updated', (e) => both(peerOf(e), o.id), 5_000)
      }
    }

    const [a, b, c] = nodes as [Node, Node, Node]
    const sinceA = a.proc.events.length
    b.proc.send({ cmd: 'stop' })
    expect((await lost(a, b.id, 2_000, sinceA)).reason).toBe('goodbye')

    const killedAt = Date.now()
    await c.proc.kill('SIGKILL')
    const expired = await lost(a, c.id, 15_000, sinceA)
    expect(expired.reason).toBe('expired')
    // the record TTL (8 s) bounds it, not a fixed wait
    expect((expired.t as number) - killedAt).toBeLessThan(10_000)
  }, 60_000)

  test('10 devices: every pair is found; one stopping and one SIGKILLed are reported lost by all the others', async () => {
    const nodes = await mesh(10)
    await allPairsFound(nodes, 10_000)
    const [stopping, killed, ...others] = nodes as [Node, Node, ...Node[]]
    const since = others.map((n) => n.proc.events.length)
    stopping.proc.send({ cmd: 'stop' })
    await killed.proc.kill('SIGKILL')
    const reasons = await Promise.all(others.flatMap((n, i) => [lost(n, stopping.id, 5_000, since[i]), lost(n, killed.id, 15_000, since[i])]))
    expect(reasons.map((e) => e.reason)).toEqual(others.flatMap(() => ['goodbye', 'expired']))
  }, 90_000)

  test('30% receive loss on every one of 10 devices: all pairs still converge', async () => {
    lan = await createSandboxLan({ hosts: 10 })
    await Promise.all(lan.hosts.map((h) => h.loss(30, 'ingress')))
    await allPairsFound(await startNodes(lan), 30_000)
  }, 90_000)

  test('a device taken off the LAN (bridge side) expires, and is found again when it returns', async () => {
    const nodes = await mesh(3)
    const [a, b] = nodes as [Node, Node, Node]
    await foundAll(a, [b.id], 5_000)
    const since = a.proc.events.length
    await lan!.host(b.host).link(false)
    expect((await lost(a, b.id, 15_000, since)).reason).toBe('expired')
    await lan!.host(b.host).link(true)
    await a.proc.waitFor('found', (e) => peerOf(e).id === b.id, 10_000, since)
  }, 60_000)

  test('a device that changes its address is seen at the new one only, long before the old record would expire', async () => {
    lan = await createSandboxLan({ hosts: 2 })
    const a = await startNode(lan, 0)
    // the mover's records live 30 s: only the cache-flush of its new announcement can retire the old address in time
    const b = await startNode(lan, 1, { recordTtlS: 30 })
    await foundAll(a, [b.id], 5_000)
    const since = a.proc.events.length
    lan.host(1).exec('sh', ['-c', 'ip addr flush dev eth0 scope global && ip addr add 10.77.0.102/24 dev eth0'])
    const v4 = (e: Parameters<typeof peerOf>[0]): string[] => peerOf(e).addresses.filter((x) => x.family === 4).map((x) => x.host)
    const moved = await a.proc.waitFor('updated', (e) => peerOf(e).id === b.id && v4(e).join() === '10.77.0.102', 10_000, since)
    expect(moved.t as number).toBeGreaterThan(0)
    expect(a.proc.events.slice(since).some((e) => e.ev === 'lost')).toBe(false)
  }, 60_000)

  test('a vanished multicast route does not matter: sends leave through the bound interface', async () => {
    const nodes = await mesh(2)
    const [a, b] = nodes as [Node, Node]
    await foundAll(a, [b.id], 5_000)
    const since = b.proc.events.length
    lan!.host(b.host).exec('ip', ['route', 'del', '224.0.0.0/4', 'dev', 'eth0'])
    b.proc.send({ cmd: 'update', port: 4321 })
    await a.proc.waitFor('updated', (e) => peerOf(e).id === b.id && peerOf(e).port === 4321, 5_000)
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
    expect((await lost(a, b.id, 15_000, since)).reason).toBe('expired')
    expect(b.proc.alive).toBe(true)
    lan!.host(b.host).exec('ip', ['link', 'set', 'eth0', 'up'])
    await a.proc.waitFor('found', (e) => peerOf(e).id === b.id, 10_000, since)
  }, 60_000)

  test('the OS refusing multicast sends (EPERM from a firewall) is a MulticastDeniedError naming the interface; lifting it recovers', async () => {
    lan = await createSandboxLan({ hosts: 2 })
    lan.host(0).exec('nft', ['-f', '-'], 'table inet mkdeny {\n  chain out { type filter hook output priority 0; policy accept; udp dport 5353 drop; }\n}\n')
    const denied = await startNode(lan, 0)
    const err = await denied.proc.waitFor('error', () => true, 10_000)
    expect(err).toMatchObject({ name: 'MulticastDeniedError', cause: { code: 'EPERM' } })
    expect(String(err.message)).toContain('eth0')
    expect(String(err.message)).toMatch(/firewall|static peers/)
    expect(denied.proc.alive).toBe(true)
    const other = await startNode(lan, 1)
    lan.host(0).exec('nft', ['delete', 'table', 'inet', 'mkdeny'])
    await other.proc.waitFor('found', (e) => peerOf(e).id === denied.id, 10_000)
  }, 60_000)

  test('a non-root user refused the mDNS port (EACCES) gets a MulticastDeniedError naming the interface, and the process lives on', async () => {
    lan = await createSandboxLan({ hosts: 1 })
    // as on a system where the mDNS port is privileged: binding it as `nobody` is refused with EACCES
    lan.host(0).exec('sysctl', ['-q', '-w', 'net.ipv4.ip_unprivileged_port_start=6000'])
    const proc = spawnNode(lan, 0, {}, 'nobody')
    const err = await proc.waitFor('error', () => true, 20_000)
    expect(err).toMatchObject({ name: 'NoUsableInterfaceError', fatal: true, cause: { name: 'MulticastDeniedError', code: 'EACCES' } })
    const cause = err.cause as { message: string }
    expect(cause.message).toContain('eth0')
    expect(cause.message).toMatch(/static peers/)
    // not a crash: it still answers
    expect(await proc.request({ cmd: 'peers' }, 'peers', 5_000)).toMatchObject({ peers: [] })
  }, 30_000)

  test('loopbackOnly stays on loopback even when another process on the device runs mDNS on eth0', async () => {
    lan = await createSandboxLan({ hosts: 2 })
    const loopback = { loopbackOnly: true, interfaces: undefined }
    const [l1, l2, e, r] = await Promise.all([startNode(lan, 0, loopback), startNode(lan, 0, loopback), startNode(lan, 0), startNode(lan, 1)])
    await Promise.all([foundAll(l1!, [l2!.id], 5_000), foundAll(e!, [r!.id], 5_000), foundAll(r!, [e!.id], 5_000)])
    // r's announcement reaches every socket on device 0 (Linux delivers it to all members of the group)...
    r!.proc.send({ cmd: 'update', port: 4999 })
    await e!.proc.waitFor('updated', (ev) => peerOf(ev).id === r!.id && peerOf(ev).port === 4999, 5_000)
    // ...and l1 has processed it once it has processed l2's later announcement on the same socket
    l2!.proc.send({ cmd: 'update', port: 4998 })
    await l1!.proc.waitFor('updated', (ev) => peerOf(ev).id === l2!.id && peerOf(ev).port === 4998, 5_000)
    const found = (n: Node): string[] => n.proc.events.filter((ev) => ev.ev === 'found').map((ev) => peerOf(ev).id)
    expect(found(l1!)).toEqual([l2!.id])
    expect(found(e!)).toEqual([r!.id])
    expect(found(r!)).toEqual([e!.id])
  }, 60_000)
})

describe.skipIf(!sandbox.ok)('mDNS discovery over IPv6 link-local only', () => {
  test('devices without IPv4 find each other on their scoped link-local addresses', async () => {
    const nodes = await mesh(3, { ipv4: false })
    for (const n of nodes) {
      const found = await foundAll(n, nodes.filter((o) => o !== n).map((o) => o.id), 5_000)
      for (const e of found) {
        const addresses = peerOf(e).addresses
        expect(addresses.length).toBeGreaterThan(0)
        expect(addresses.every((a) => a.family === 6 && /^fe80:.*%eth0$/.test(a.host))).toBe(true)
      }
    }
  }, 60_000)
})
