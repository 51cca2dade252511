/**
 * mDNS behaviour beyond the contract, in-process on loopback: hostile and
 * broken packets, key conflicts, crash expiry, clean shutdown.
 */
import { ephemeralIdentity } from '@meshkit/identity'
import { silentLogger } from '@meshkit/log'
import { spawn } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import dnsPacket from 'dns-packet'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { advertisementPacket, mdnsDiscovery, NoUsableInterfaceError, InvalidDiscoveryOptionsError, type Advertisement, type MdnsDiscovery, type PeerConflictEvent } from '../src/index.js'

const logger = silentLogger()
const TAG = 'c0ffee000001'
const started: MdnsDiscovery[] = []
afterEach(async () => {
  await Promise.all(started.splice(0).map((d) => d.stop()))
})

function setup(): { port: number; type: string; make: (ad?: Advertisement, extra?: object) => Promise<MdnsDiscovery>; ad: () => Advertisement; inject: (p: dnsPacket.Packet | Buffer) => Promise<void> } {
  const port = 20_000 + Math.floor(Math.random() * 30_000)
  const type = `_mk${Math.random().toString(36).slice(2, 8)}._udp`
  const ad = (): Advertisement => {
    const id = ephemeralIdentity()
    return { id: id.id, publicKey: id.publicKey, port: 5000, version: 1, groupTag: TAG }
  }
  const make = async (a = ad(), extra = {}): Promise<MdnsDiscovery> => {
    const d = mdnsDiscovery({ advertisement: a, loopbackOnly: true, mdnsPort: port, serviceType: type, ...extra }, { logger })
    started.push(d)
    await d.start()
    return d
  }
  /** Sends a raw datagram to the group, on loopback, as a hostile or broken host would. */
  const inject = async (p: dnsPacket.Packet | Buffer): Promise<void> => {
    const socket = createSocket({ type: 'udp4', reuseAddr: true })
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r))
    socket.setMulticastInterface('127.0.0.1')
    const bytes = Buffer.isBuffer(p) ? p : dnsPacket.encode(p)
    await new Promise<void>((r, j) => socket.send(bytes, port, '224.0.0.251', (e) => (e ? j(e) : r())))
    socket.close()
  }
  return { port, type, make, ad, inject }
}

/**
 * Runs `body` (ES module code with `mdnsDiscovery`, `ad()` and `out()` in scope)
 * in a fresh node process over the built package, and resolves with what it
 * printed once it exits. A process exits by itself only when nothing (socket,
 * timer) is left alive, which is what these tests assert.
 */
async function inFreshProcess(body: string, timeoutMs = 10_000): Promise<{ code: number | null; out: string[] }> {
  const dist = (p: string): string => JSON.stringify(pathToFileURL(resolve(import.meta.dirname, p)).href)
  const script = `
    import { mdnsDiscovery } from ${dist('../dist/index.js')}
    import { ephemeralIdentity } from ${dist('../../identity/dist/index.js')}
    const ad = () => { const i = ephemeralIdentity(); return { id: i.id, publicKey: i.publicKey, port: 5000, version: 1, groupTag: '${TAG}' } }
    const out = (s) => console.log(s)
    ${body}
  `
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  let text = ''
  child.stdout.on('data', (d: Buffer) => (text += d.toString()))
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)))
  clearTimeout(timer)
  return { code, out: text.split('\n').filter(Boolean) }
}

describe('mDNS discovery on loopback', () => {
  test('garbage datagrams and malformed TXT are ignored; discovery keeps working', async () => {
    const { make, ad, inject, type } = setup()
    const d = await make()
    const found: string[] = []
    d.on('peer:found', (p) => found.push(p.id))
    const errors: Error[] = []
    d.on('error', (e) => errors.push(e))
    await inject(Buffer.from('definitely not DNS'))
    await inject(Buffer.alloc(4096, 0xff))
    // a well-formed packet whose TXT lies: pk is not a key
    const liar = ad()
    const bad = advertisementPacket(liar, type, { v4: ['127.0.0.1'], v6: [] }, 8)
    const txt = bad.additionals!.find((r) => r.type === 'TXT')!
    ;(txt as { data: Buffer[] }).data = [Buffer.from(`id=${liar.id}`), Buffer.from('pk=nope'), Buffer.from('v=1'), Buffer.from(`g=${TAG}`)]
    await inject(bad)
    // and one with an over-long TXT string (still valid DNS)
    const long = advertisementPacket(ad(), type, { v4: ['127.0.0.1'], v6: [] }, 8)
    ;(long.additionals!.find((r) => r.type === 'TXT') as { data: Buffer[] }).data = [Buffer.alloc(255, 0x41)]
    await inject(long)
    // an honest peer is still found
    const honest = ad()
    await make(honest)
    await vi.waitFor(() => expect(found).toEqual([honest.id]))
    expect(errors).toEqual([])
  })

  test('a known id advertised with another key is reported as a conflict and not trusted', async () => {
    const { make, ad, inject, type } = setup()
    const d = await make()
    const real = ad()
    await make(real)
    await vi.waitFor(() => expect(d.peers().map((p) => p.id)).toEqual([real.id]))
    const conflict = new Promise<PeerConflictEvent>((r) => d.on('peer:conflict', r))
    const impostor = { ...real, publicKey: ephemeralIdentity().publicKey, port: 6666 }
    await inject(advertisementPacket(impostor, type, { v4: ['127.0.0.1'], v6: [] }, 8))
    const e = await conflict
    expect(e.id).toBe(real.id)
    expect(e.knownKey).toEqual(real.publicKey)
    expect(e.claimedKey).toEqual(impostor.publicKey)
    expect(d.peers()[0]?.publicKey).toEqual(real.publicKey)
    expect(d.peers()[0]?.port).toBe(5000)
  })

  test('a peer that dies without a goodbye expires after its record TTL', async () => {
    const { make, port, type } = setup()
    const d = await make()
    const fixture = resolve(import.meta.dirname, '../../testing/dist/fixtures/discovery-node.js')
    const child = spawn(process.execPath, [fixture, JSON.stringify({ groupTag: TAG, loopbackOnly: true, mdnsPort: port, serviceType: type, recordTtlS: 2 })], { stdio: ['pipe', 'pipe', 'inherit'] })
    try {
      await vi.waitFor(() => expect(d.peers()).toHaveLength(1), { timeout: 10_000 })
      const lost = new Promise((r) => d.on('peer:lost', r))
      child.kill('SIGKILL')
      expect(await lost).toMatchObject({ reason: 'expired' })
    } finally {
      child.kill('SIGKILL')
    }
  })

  test('stop sends goodbyes and releases every socket and timer', async () => {
    const { make, port, type } = setup()
    const d = await make()
    const lost = new Promise((r) => d.on('peer:lost', r))
    const result = await inFreshProcess(`
      const discovery = mdnsDiscovery({ advertisement: ad(), loopbackOnly: true, mdnsPort: ${port}, serviceType: '${type}' })
      discovery.on('peer:found', async () => {
        await discovery.stop()
        out('sockets left: ' + process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length)
      })
      await discovery.start()
      // stop() must leave nothing alive: the process exits by itself
    `)
    expect(result).toEqual({ code: 0, out: ['sockets left: 0'] })
    expect(await lost).toMatchObject({ reason: 'goodbye' })
  })

  test('someone claiming our own id, or saying goodbye for a peer with another key, is a conflict and changes nothing', async () => {
    const { make, ad, inject, type } = setup()
    const me = ad()
    const d = await make(me)
    const real = ad()
    await make(real)
    await vi.waitFor(() => expect(d.peers().map((p) => p.id)).toEqual([real.id]))
    const conflicts: PeerConflictEvent[] = []
    d.on('peer:conflict', (e) => conflicts.push(e))
    const lost: unknown[] = []
    d.on('peer:lost', (e) => lost.push(e))
    const otherKey = ephemeralIdentity().publicKey
    await inject(advertisementPacket({ ...me, publicKey: otherKey }, type, { v4: ['127.0.0.1'], v6: [] }, 8))
    await inject(advertisementPacket({ ...real, publicKey: otherKey }, type, { v4: ['127.0.0.1'], v6: [] }, 0))
    await vi.waitFor(() => expect(conflicts.map((c) => c.id).sort()).toEqual([me.id, real.id].sort()))
    expect(conflicts.find((c) => c.id === me.id)?.knownKey).toEqual(me.publicKey)
    expect(conflicts.every((c) => Buffer.from(c.claimedKey).equals(Buffer.from(otherKey)))).toBe(true)
    expect(lost).toEqual([])
    expect(d.peers().map((p) => p.id)).toEqual([real.id])
  })

  test('an address announced with cache-flush replaces the old one (a device that changed its address)', async () => {
    const { make, ad, inject, type } = setup()
    const d = await make()
    const moving = ad()
    await inject(advertisementPacket(moving, type, { v4: ['127.0.0.5'], v6: [] }, 120))
    await vi.waitFor(() => expect(d.peers().flatMap((p) => p.addresses.map((a) => a.host))).toEqual(['127.0.0.5']))
    // the device announces its new address (as it does every ~2 s): the old one goes without waiting out its 120 s TTL
    await vi.waitFor(
      async () => {
        await inject(advertisementPacket(moving, type, { v4: ['127.0.0.6'], v6: [] }, 120))
        expect(d.peers().flatMap((p) => p.addresses.map((a) => a.host))).toEqual(['127.0.0.6'])
      },
      { timeout: 5_000, interval: 200 },
    )
  })

  test('a one-shot query from an ephemeral port is answered by unicast with its id (RFC 6762 §6.7)', async () => {
    const { make, ad, port, type } = setup()
    const me = ad()
    await make(me)
    const socket = createSocket({ type: 'udp4' })
    try {
      await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r))
      socket.setMulticastInterface('127.0.0.1')
      const answer = new Promise<dnsPacket.Packet>((r) => socket.on('message', (m) => r(dnsPacket.decode(m))))
      const query = dnsPacket.encode({ type: 'query', id: 4242, questions: [{ name: `${type}.local`, type: 'PTR' }] })
      await new Promise<void>((r, j) => socket.send(query, port, '224.0.0.251', (e) => (e ? j(e) : r())))
      const response = await answer
      expect(response.id).toBe(4242)
      expect(response.questions?.[0]?.name).toBe(`${type}.local`)
      expect(response.answers?.[0]).toMatchObject({ type: 'PTR', data: `${me.id}.${type}.local` })
      const ttls = [...(response.answers ?? []), ...(response.additionals ?? [])].map((r) => ('ttl' in r ? r.ttl : undefined))
      expect(ttls.every((t) => t !== undefined && t > 0 && t <= 10)).toBe(true)
    } finally {
      socket.close()
    }
  })

  test('start() aborted by its signal rejects and leaves no socket or timer behind', async () => {
    const { port, type } = setup()
    const result = await inFreshProcess(`
      const options = { loopbackOnly: true, mdnsPort: ${port}, serviceType: '${type}' }
      await mdnsDiscovery({ advertisement: ad(), ...options }).start({ signal: AbortSignal.abort() }).catch((e) => out(e.name))
      const controller = new AbortController()
      const starting = mdnsDiscovery({ advertisement: ad(), ...options }).start({ signal: controller.signal })
      controller.abort()
      await starting.catch((e) => out(e.name))
      // no stop(): the process must now exit by itself
    `)
    expect(result).toEqual({ code: 0, out: ['AbortError', 'AbortError'] })
  })

  test('bad options are typed errors; no usable interface is a typed error', async () => {
    const id = ephemeralIdentity()
    const ad = { id: id.id, publicKey: id.publicKey, port: 1, version: 1, groupTag: TAG }
    expect(() => mdnsDiscovery({ advertisement: ad, serviceType: 'meshkit' })).toThrow(InvalidDiscoveryOptionsError)
    expect(() => mdnsDiscovery({ advertisement: ad, app: 'has spaces' })).toThrow(InvalidDiscoveryOptionsError)
    const none = mdnsDiscovery({ advertisement: ad, interfaces: ['no-such-interface'] }, { logger })
    await expect(none.start()).rejects.toBeInstanceOf(NoUsableInterfaceError)
  })
})
