/**
 * The Discovery contract, run against every implementation. mDNS runs
 * in-process confined to loopback (the one place it may run in the machine's
 * root namespace), on a random port and service type so parallel suites do not
 * hear each other.
 */
import { ephemeralIdentity } from '@meshkit/identity'
import { silentLogger } from '@meshkit/log'
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs'
import { afterEach, describe, expect, test, vi } from 'vitest'
import {
  createMemoryDiscoveryNetwork,
  mdnsDiscovery,
  memoryDiscovery,
  staticDiscovery,
  type Advertisement,
  type DiscoveredPeer,
  type Discovery,
  type MemoryDiscoveryNetwork,
} from '../src/index.js'

interface World {
  /** A discovery for `ad` that should find `others`. */
  make: (ad: Advertisement, others: Advertisement[]) => Discovery
}

interface Implementation {
  name: string
  /** Announces departures (a stopped peer is lost with reason goodbye). */
  goodbye: boolean
  /** Ignores peers of other groups. */
  groups: boolean
  /** Propagates update(). */
  updates: boolean
  world: () => World
}

const logger = silentLogger()
const randomTag = (): string => Math.random().toString(16).slice(2, 14).padEnd(12, '0')

const implementations: Implementation[] = [
  {
    name: 'mdns (loopback)',
    goodbye: true,
    groups: true,
    updates: true,
    world: () => {
      const mdnsPort = 20_000 + Math.floor(Math.random() * 30_000)
      const serviceType = `_mk${Math.random().toString(36).slice(2, 8)}._udp`
      return { make: (ad) => mdnsDiscovery({ advertisement: ad, loopbackOnly: true, mdnsPort, serviceType }, { logger }) }
    },
  },
  {
    name: 'static',
    goodbye: false,
    groups: false,
    updates: false,
    world: () => ({
      make: (ad, others) => staticDiscovery({ advertisement: ad, peers: others.map((o) => ({ host: '127.0.0.1', port: o.port, id: o.id, publicKey: o.publicKey })) }, { logger }),
    }),
  },
  {
    name: 'memory',
    goodbye: true,
    groups: true,
    updates: true,
    world: () => {
      const network: MemoryDiscoveryNetwork = createMemoryDiscoveryNetwork()
      return { make: (ad) => memoryDiscovery({ advertisement: ad, network }, { logger }) }
    },
  },
]

const started: Discovery[] = []
afterEach(async () => {
  await Promise.all(started.splice(0).map((d) => d.stop()))
})

function advertisement(groupTag: string, port = 4000 + Math.floor(Math.random() * 1000)): Advertisement {
  const id = ephemeralIdentity()
  return { id: id.id, publicKey: id.publicKey, port, version: 1, groupTag }
}

async function run(d: Discovery): Promise<Discovery> {
  started.push(d)
  await d.start()
  return d
}

const foundIds = (d: Discovery): string[] => d.peers().map((p) => p.id).sort()

describe.each(implementations)('Discovery contract: $name', (impl) => {
  test('finds every other peer with its key and address, never itself', async () => {
    const world = impl.world()
    const tag = randomTag()
    const ads = [advertisement(tag), advertisement(tag), advertisement(tag)]
    const ds = await Promise.all(ads.map((ad) => run(world.make(ad, ads.filter((o) => o !== ad)))))
    for (const [i, d] of ds.entries()) {
      const expected = ads.filter((_, j) => j !== i)
      await vi.waitFor(() => expect(foundIds(d)).toEqual(expected.map((a) => a.id).sort()))
      for (const ad of expected) {
        const peer = d.peers().find((p) => p.id === ad.id) as DiscoveredPeer
        expect(peer.publicKey).toEqual(ad.publicKey)
        expect(peer.addresses.some((a) => a.port === ad.port)).toBe(true)
        expect(peer.port).toBe(ad.port)
      }
    }
  })

  test('events, peers() and peers$ tell the same story', async () => {
    const world = impl.world()
    const tag = randomTag()
    const [a, b] = [advertisement(tag), advertisement(tag)]
    const da = world.make(a!, [b!])
    const found: string[] = []
    da.on('peer:found', (p) => found.push(p.id))
    await run(da)
    await run(world.make(b!, [a!]))
    await vi.waitFor(() => expect(found).toEqual([b!.id]))
    const snapshot = await firstValueFrom(da.peers$)
    expect([...snapshot.keys()]).toEqual([b!.id])
    expect(da.peers().map((p) => p.id)).toEqual([b!.id])
  })

  test('start and stop are idempotent; nothing is emitted after stop; peers$ completes', async () => {
    const world = impl.world()
    const tag = randomTag()
    const [a, b, c] = [advertisement(tag), advertisement(tag), advertisement(tag)]
    const da = world.make(a!, [b!, c!])
    const all = lastValueFrom(da.peers$.pipe(toArray()))
    await Promise.all([da.start(), da.start()])
    await da.stop()
    await da.stop()
    const events: string[] = []
    for (const e of ['peer:found', 'peer:lost', 'peer:updated'] as const) da.on(e, () => events.push(e))
    await run(world.make(b!, [a!, c!]))
    const dc = await run(world.make(c!, [a!, b!]))
    // once c has heard b, b's announcements have been on the wire for a to hear too
    await vi.waitFor(() => expect(foundIds(dc)).toContain(b!.id))
    expect(events).toEqual([])
    expect(da.peers()).toEqual([])
    await expect(all).resolves.toBeInstanceOf(Array)
  })

})

describe.each(implementations.filter((i) => i.goodbye))('Discovery contract: $name', (impl) => {
  test('a peer that stops is lost at once with reason goodbye', async () => {
    const world = impl.world()
    const tag = randomTag()
    const [a, b] = [advertisement(tag), advertisement(tag)]
    const da = await run(world.make(a!, [b!]))
    const db = await run(world.make(b!, [a!]))
    await vi.waitFor(() => expect(foundIds(da)).toEqual([b!.id]))
    const lost = new Promise((resolve) => da.on('peer:lost', resolve))
    await db.stop()
    expect(await lost).toEqual({ id: b!.id, reason: 'goodbye' })
    expect(da.peers()).toEqual([])
  })
})

describe.each(implementations.filter((i) => i.groups))('Discovery contract: $name', (impl) => {
  test('peers of another group are never reported', async () => {
    const world = impl.world()
    const [a, b, c] = [advertisement('aaaaaaaaaaaa'), advertisement('bbbbbbbbbbbb'), advertisement('aaaaaaaaaaaa')]
    const da = await run(world.make(a!, [b!, c!]))
    await run(world.make(b!, [a!, c!]))
    await run(world.make(c!, [a!, b!]))
    // c is of a's group: once a knows c, it has heard b's announcements too
    await vi.waitFor(() => expect(foundIds(da)).toEqual([c!.id]))
    expect(da.peers().some((p) => p.id === b!.id)).toBe(false)
  })
})

describe.each(implementations.filter((i) => i.updates))('Discovery contract: $name', (impl) => {
  test('update() reaches the others as peer:updated', async () => {
    const world = impl.world()
    const tag = randomTag()
    const [a, b] = [advertisement(tag), advertisement(tag, 4100)]
    const da = await run(world.make(a!, [b!]))
    const db = await run(world.make(b!, [a!]))
    await vi.waitFor(() => expect(foundIds(da)).toEqual([b!.id]))
    const updated = new Promise<DiscoveredPeer>((resolve) => da.on('peer:updated', (p) => p.port === 4200 && resolve(p)))
    await db.update({ port: 4200 })
    expect((await updated).addresses.every((x) => x.port === 4200)).toBe(true)
  })
})
