import dnsPacket from 'dns-packet'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { advertisementPacket, encodeTxt, isServiceType, MAX_QUERY_BYTES, parseResponse, parseTxt, selectInterfaces } from '../src/index.js'
import { onLink } from '../src/interfaces.js'
import { advertisedFields, browseQuery } from '../src/records.js'

const ad = { id: '6f9619ff-8b86-4011-b42d-00c04fc964ff', publicKey: new Uint8Array(32).fill(7), port: 4242, version: 1, groupTag: 'a1b2c3d4e5f6' }
const TYPE = '_meshkit._udp'

/** Through the real wire encoding, as a peer receives it. */
const roundTrip = (p: dnsPacket.Packet): dnsPacket.Packet => dnsPacket.decode(dnsPacket.encode(p))

describe('DNS-SD records', () => {
  test('an advertisement parses back to the same id, key, port, version, group and addresses', () => {
    const [report] = parseResponse(roundTrip(advertisementPacket(ad, TYPE, { v4: ['10.0.0.5'], v6: ['fe80::1'] }, 8)), TYPE)
    expect(report).toMatchObject({ id: ad.id, ttl: 8, goodbye: false, port: 4242, target: `${ad.id}.local` })
    expect(report?.addresses.map((a) => [a.host, a.family])).toEqual([
      ['10.0.0.5', 4],
      ['fe80::1', 6],
    ])
    expect(advertisedFields(ad.id, report?.txt)).toEqual({ publicKey: ad.publicKey, key: Buffer.from(ad.publicKey).toString('base64'), version: 1, groupTag: ad.groupTag })
  })

  test('a goodbye is the same records with TTL 0', () => {
    const [report] = parseResponse(roundTrip(advertisementPacket(ad, TYPE, { v4: ['10.0.0.5'], v6: [] }, 0)), TYPE)
    expect(report).toMatchObject({ id: ad.id, goodbye: true, ttl: 0 })
  })

  test('other service types, non-UUID instances and unrelated records are ignored', () => {
    const other = advertisementPacket(ad, '_other._udp', { v4: ['10.0.0.5'], v6: [] }, 8)
    expect(parseResponse(roundTrip(other), TYPE)).toEqual([])
    const bad = roundTrip({ type: 'response', answers: [{ name: '_meshkit._udp.local', type: 'PTR', ttl: 8, data: 'printer._meshkit._udp.local' }] })
    expect(parseResponse(bad, TYPE)).toEqual([])
  })

  test('names are case-insensitive', () => {
    const p = advertisementPacket(ad, TYPE, { v4: ['10.0.0.5'], v6: [] }, 8)
    const upper = (r: dnsPacket.Answer): dnsPacket.Answer => ({ ...r, name: r.name.toUpperCase() }) as dnsPacket.Answer
    const shouted = roundTrip({ ...p, answers: p.answers.map(upper), additionals: p.additionals?.map(upper) })
    expect(parseResponse(shouted, TYPE).map((r) => r.id)).toEqual([ad.id])
  })
})

describe('TXT', () => {
  test('our TXT round-trips through the wire as strings', () => {
    const txt = parseTxt(roundTrip(advertisementPacket(ad, TYPE, { v4: [], v6: [] }, 8)).additionals?.find((r) => r.type === 'TXT')?.data)
    expect(Object.fromEntries(txt)).toEqual({ id: ad.id, pk: Buffer.from(ad.publicKey).toString('base64'), v: '1', g: ad.groupTag })
    expect(encodeTxt(ad).every((b) => b.length < 256)).toBe(true)
  })

  test('edge cases: no "=", empty key, duplicates (first wins), upper-case keys, over-long and binary entries', () => {
    const txt = parseTxt([Buffer.from('novalue'), Buffer.from('=x'), Buffer.from('ID=first'), Buffer.from('id=second'), Buffer.alloc(300, 0x61), Buffer.from([0xff, 0xfe, 0x3d, 0x01]), 'g=tag'])
    expect(txt.get('id')).toBe('first')
    expect(txt.get('g')).toBe('tag')
    expect(txt.has('novalue')).toBe(false)
    expect(txt.has('')).toBe(false)
    expect([...txt.keys()].every((k) => k.length < 256)).toBe(true)
  })

  test('advertised fields are refused unless id, key, version and group are all valid', () => {
    const good = new Map(Object.entries({ id: ad.id, pk: Buffer.from(ad.publicKey).toString('base64'), v: '1', g: 'tag' }))
    expect(advertisedFields(ad.id, good)).toBeDefined()
    const without = (k: string, v?: string): Map<string, string> => {
      const m = new Map(good)
      if (v === undefined) m.delete(k)
      else m.set(k, v)
      return m
    }
    expect(advertisedFields(ad.id, without('id', '11111111-1111-4111-8111-111111111111'))).toBeUndefined()
    expect(advertisedFields(ad.id, without('pk', 'AAAA'))).toBeUndefined()
    expect(advertisedFields(ad.id, without('pk', '!'.repeat(44)))).toBeUndefined()
    expect(advertisedFields(ad.id, without('v', 'x'))).toBeUndefined()
    expect(advertisedFields(ad.id, without('g'))).toBeUndefined()
    expect(advertisedFields(ad.id, undefined)).toBeUndefined()
  })

  test('any bytes as TXT never throw', () => {
    fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 400 }), { maxLength: 20 }), (items) => void parseTxt(items.map((b) => Buffer.from(b)))))
  })

  test('any decodable packet parses without throwing', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 12, maxLength: 512 }), (bytes) => {
        let packet: dnsPacket.Packet
        try {
          packet = dnsPacket.decode(Buffer.from(bytes))
        } catch {
          return
        }
        parseResponse(packet, TYPE)
      }),
      { numRuns: 3000 },
    )
  })
})

describe('service types and interfaces', () => {
  test('service types follow RFC 6763', () => {
    expect(isServiceType('_meshkit._udp')).toBe(true)
    expect(isServiceType('_my-app._udp')).toBe(true)
    expect(isServiceType('meshkit._udp')).toBe(false)
    expect(isServiceType('_this-name-is-far-too-long._udp')).toBe(false)
    expect(isServiceType('_x._sctp')).toBe(false)
  })

  test('interface selection: all non-internal by default, loopback only when asked, IPv6 link-local only', () => {
    const table = {
      lo: [
        { address: '127.0.0.1', family: 'IPv4', internal: true, netmask: '255.0.0.0', mac: '', cidr: null },
        { address: '::1', family: 'IPv6', internal: true, netmask: '', mac: '', cidr: null, scopeid: 0 },
      ],
      eth0: [
        { address: '10.0.0.5', family: 'IPv4', internal: false, netmask: '255.255.255.0', mac: '', cidr: null },
        { address: '2001:db8::5', family: 'IPv6', internal: false, netmask: '', mac: '', cidr: null, scopeid: 0 },
        { address: 'fe80::5', family: 'IPv6', internal: false, netmask: '', mac: '', cidr: null, scopeid: 2 },
      ],
      wlan0: [{ address: '192.168.1.9', family: 'IPv4', internal: false, netmask: '255.255.0.0', mac: '', cidr: null }],
    } as Parameters<typeof selectInterfaces>[0]
    expect(selectInterfaces(table, { ipv4: true, ipv6: true })).toEqual([
      { name: 'eth0', family: 4, address: '10.0.0.5', netmask: '255.255.255.0' },
      { name: 'eth0', family: 6, address: 'fe80::5' },
      { name: 'wlan0', family: 4, address: '192.168.1.9', netmask: '255.255.0.0' },
    ])
    // auto: IPv6 only where there is no IPv4 (here: nowhere), so each packet is not sent twice
    expect(selectInterfaces(table, { ipv4: true, ipv6: 'auto' }).map((i) => i.family)).toEqual([4, 4])
    expect(selectInterfaces(table, { ipv4: false, ipv6: 'auto' })).toEqual([{ name: 'eth0', family: 6, address: 'fe80::5' }])
    expect(selectInterfaces(table, { ipv4: true, ipv6: false, interfaces: ['wlan0'] })).toEqual([{ name: 'wlan0', family: 4, address: '192.168.1.9', netmask: '255.255.0.0' }])
    expect(selectInterfaces(table, { ipv4: true, ipv6: true, interfaces: ['lo'] })).toEqual([{ name: 'lo', family: 4, address: '127.0.0.1', netmask: '255.0.0.0' }])
    expect(selectInterfaces(table, { ipv4: true, ipv6: true, loopbackOnly: true })).toEqual([{ name: 'lo', family: 4, address: '127.0.0.1', netmask: '255.0.0.0' }])
  })

  test('source check (RFC 6762 §11): a socket only takes datagrams from its own link', () => {
    const lo = { name: 'lo', family: 4 as const, address: '127.0.0.1', netmask: '255.0.0.0' }
    const eth0 = { name: 'eth0', family: 4 as const, address: '10.77.0.1', netmask: '255.255.255.0' }
    const v6 = { name: 'eth0', family: 6 as const, address: 'fe80::1' }
    expect(onLink(lo, '127.0.0.1')).toBe(true)
    expect(onLink(lo, '10.77.0.2')).toBe(false) // loopbackOnly never hears the LAN
    expect(onLink(eth0, '10.77.0.2')).toBe(true)
    expect(onLink(eth0, '127.0.0.1')).toBe(false)
    expect(onLink(eth0, '10.78.0.2')).toBe(false)
    expect(onLink(eth0, 'garbage')).toBe(false)
    expect(onLink({ ...eth0, netmask: '255.255.255.255' }, '192.0.2.1')).toBe(true)
    expect(onLink(v6, 'fe80::2%eth0')).toBe(true)
    expect(onLink(v6, 'fe80::2%wlan0')).toBe(false)
  })

  test('a browse query carries known answers only as far as one mDNS packet allows', () => {
    const known = Array.from({ length: 200 }, (_, i) => ({ id: `6f9619ff-8b86-4011-b42d-00c04fc9${String(i).padStart(4, '0')}`, ttl: 6 }))
    const few = browseQuery(TYPE, known.slice(0, 3), MAX_QUERY_BYTES)
    expect(few.answers.map((a) => (a as { data?: unknown }).data)).toEqual(known.slice(0, 3).map((k) => `${k.id}._meshkit._udp.local`))
    const many = browseQuery(TYPE, known, MAX_QUERY_BYTES)
    expect(many.answers.length).toBeGreaterThan(3)
    expect(many.answers.length).toBeLessThan(200)
    expect(dnsPacket.encode(many).length).toBeLessThanOrEqual(MAX_QUERY_BYTES)
    expect(dnsPacket.encode(browseQuery(TYPE, known.slice(0, many.answers.length + 1), MAX_QUERY_BYTES)).length).toBeLessThanOrEqual(MAX_QUERY_BYTES)
  })
})
