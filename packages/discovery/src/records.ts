/**
 * DNS-SD records for a meshkit advertisement, and their parsing: pure
 * functions over dns-packet's types (RFC 6762 / 6763). See README "Wire format".
 *
 * - PTR  `<type>.local`            -> `<id>.<type>.local`
 * - SRV  `<id>.<type>.local`       -> `<id>.local`:<quic port>
 * - TXT  `<id>.<type>.local`       -> id=<id> pk=<base64 key> v=<version> g=<group tag>
 * - A / AAAA `<id>.local`          -> the interface's address
 */
import { isDeviceId } from '@meshkit/identity'
import type { Answer, Packet } from 'dns-packet'
import dnsPacket from 'dns-packet'
import { MAX_TXT_VALUE_BYTES } from './constants.js'
import type { Advertisement } from './contract.js'

export const serviceDomain = (type: string): string => `${type}.local`.toLowerCase()
export const instanceDomain = (id: string, type: string): string => `${id}.${type}.local`.toLowerCase()
export const hostDomain = (id: string): string => `${id}.local`.toLowerCase()

/** A service type must look like `_name._udp` (RFC 6763 §7). */
export function isServiceType(type: string): boolean {
  return /^_[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?\._(udp|tcp)$/i.test(type)
}

export function encodeTxt(ad: Advertisement): Buffer[] {
  return [`id=${ad.id}`, `pk=${Buffer.from(ad.publicKey).toString('base64')}`, `v=${ad.version}`, `g=${ad.groupTag}`].map((s) => Buffer.from(s))
}

/** TXT strings to a key/value map: keys lowercased, first occurrence wins, entries without `=` or too long ignored. */
export function parseTxt(data: unknown): Map<string, string> {
  const out = new Map<string, string>()
  const items: unknown[] = Array.isArray(data) ? data : [data]
  for (const item of items) {
    let text: string
    if (typeof item === 'string') text = item
    else if (item instanceof Uint8Array) {
      if (item.length > MAX_TXT_VALUE_BYTES) continue
      text = Buffer.from(item).toString('utf8')
    } else continue
    const eq = text.indexOf('=')
    if (eq <= 0) continue
    const key = text.slice(0, eq).toLowerCase()
    if (!out.has(key)) out.set(key, text.slice(eq + 1))
  }
  return out
}

export interface InterfaceAddresses {
  v4: string[]
  v6: string[]
}

/** The response that advertises `ad` (or says goodbye with `ttl` 0). */
export function advertisementPacket(ad: Advertisement, type: string, addresses: InterfaceAddresses, ttl: number): Packet & { answers: Answer[] } {
  const instance = instanceDomain(ad.id, type)
  const host = hostDomain(ad.id)
  const answers: Answer[] = [{ name: serviceDomain(type), type: 'PTR', ttl, data: instance }]
  const additionals: Answer[] = [
    { name: instance, type: 'SRV', ttl, flush: true, data: { port: ad.port, target: host, priority: 0, weight: 0 } },
    { name: instance, type: 'TXT', ttl, flush: true, data: encodeTxt(ad) },
    ...addresses.v4.map((a): Answer => ({ name: host, type: 'A', ttl, flush: true, data: a })),
    ...addresses.v6.map((a): Answer => ({ name: host, type: 'AAAA', ttl, flush: true, data: a.split('%')[0]! })),
  ]
  return { type: 'response', answers, additionals }
}

/**
 * The browse query: one PTR question for `type`, with the instances we already
 * know (and their remaining TTL, seconds) as known answers (RFC 6762 §7.1), as
 * many as fit in `maxBytes` so the query never needs IP fragmentation; peers
 * left out simply answer.
 */
export function browseQuery(type: string, known: Array<{ id: string; ttl: number }>, maxBytes: number): Packet & { questions: NonNullable<Packet['questions']>; answers: Answer[] } {
  const service = serviceDomain(type)
  const packet = { type: 'query' as const, questions: [{ name: service, type: 'PTR' as const }], answers: [] as Answer[] }
  // dns-packet writes names uncompressed: a name takes its length + 2 bytes; an answer adds type, class, TTL and length (10)
  const nameBytes = (name: string): number => Buffer.byteLength(name) + 2
  let size = dnsPacket.encodingLength(packet)
  for (const k of known) {
    const data = instanceDomain(k.id, type)
    const more = nameBytes(service) + 10 + nameBytes(data)
    if (size + more > maxBytes) break
    packet.answers.push({ name: service, type: 'PTR', ttl: k.ttl, data })
    size += more
  }
  return packet
}

/** What one response said about one instance of our service type. */
export interface InstanceReport {
  id: string
  /** Lowest TTL among its records in this packet (seconds); 0 = goodbye. */
  ttl: number
  goodbye: boolean
  port?: number
  target?: string
  txt?: Map<string, string>
  /** A/AAAA answers for its host name found in the same packet. */
  addresses: AddressRecord[]
}

/** An A or AAAA record. `flush`: the cache-flush bit (RFC 6762 §10.2), this set replaces older ones. */
export interface AddressRecord {
  host: string
  family: 4 | 6
  ttl: number
  flush: boolean
}

/** A/AAAA records in a packet, by host name. */
export function addressRecords(packet: Packet): Map<string, AddressRecord[]> {
  const out = new Map<string, AddressRecord[]>()
  for (const r of [...(packet.answers ?? []), ...(packet.additionals ?? [])]) {
    if ((r.type !== 'A' && r.type !== 'AAAA') || typeof r.data !== 'string') continue
    const name = r.name.toLowerCase()
    const list = out.get(name) ?? []
    list.push({ host: r.data, family: r.type === 'A' ? 4 : 6, ttl: 'ttl' in r && typeof r.ttl === 'number' ? r.ttl : 0, flush: 'flush' in r && r.flush === true })
    out.set(name, list)
  }
  return out
}

/**
 * The instances of `type` a response speaks of (by PTR, SRV or TXT), with the
 * records the packet carries for them. Records of other names are ignored.
 */
export function parseResponse(packet: Packet, type: string): InstanceReport[] {
  const service = serviceDomain(type)
  const suffix = `.${service}`
  const reports = new Map<string, InstanceReport>()
  const report = (instance: string): InstanceReport | undefined => {
    const name = instance.toLowerCase()
    if (!name.endsWith(suffix)) return undefined
    const id = name.slice(0, -suffix.length)
    if (!isDeviceId(id)) return undefined
    let r = reports.get(id)
    if (r === undefined) {
      r = { id, ttl: Number.POSITIVE_INFINITY, goodbye: false, addresses: [] }
      reports.set(id, r)
    }
    return r
  }
  const records = [...(packet.answers ?? []), ...(packet.additionals ?? [])]
  for (const rec of records) {
    const ttl = 'ttl' in rec && typeof rec.ttl === 'number' ? rec.ttl : 0
    if (rec.type === 'PTR' && rec.name.toLowerCase() === service && typeof rec.data === 'string') {
      const r = report(rec.data)
      if (r === undefined) continue
      r.ttl = Math.min(r.ttl, ttl)
      if (ttl === 0) r.goodbye = true
    } else if (rec.type === 'SRV') {
      const r = report(rec.name)
      const data = rec.data as { port?: unknown; target?: unknown } | undefined
      if (r === undefined || typeof data?.port !== 'number' || typeof data.target !== 'string') continue
      r.ttl = Math.min(r.ttl, ttl)
      if (ttl === 0) r.goodbye = true
      r.port = data.port
      r.target = data.target.toLowerCase()
    } else if (rec.type === 'TXT') {
      const r = report(rec.name)
      if (r === undefined) continue
      r.ttl = Math.min(r.ttl, ttl)
      r.txt = parseTxt(rec.data)
    }
  }
  const hosts = addressRecords(packet)
  for (const r of reports.values()) {
    if (r.ttl === Number.POSITIVE_INFINITY) r.ttl = 0
    if (r.target !== undefined) r.addresses = hosts.get(r.target) ?? []
  }
  return [...reports.values()]
}

/** What a valid meshkit TXT record advertises. `key`: the public key as advertised (base64), cheap to compare. */
export interface AdvertisedFields {
  publicKey: Uint8Array
  key: string
  version: number
  groupTag: string
}

/** Decoded keys by their base64 text: every peer re-announces the same key every few seconds. */
const decodedKeys = new Map<string, Uint8Array>()

function decodeKey(b64: string): Uint8Array | undefined {
  let bytes = decodedKeys.get(b64)
  if (bytes === undefined) {
    bytes = new Uint8Array(Buffer.from(b64, 'base64'))
    if (bytes.length !== 32) return undefined
    if (decodedKeys.size >= 1024) decodedKeys.clear()
    decodedKeys.set(b64, bytes)
  }
  return bytes
}

/** The advertised fields of a TXT map, validated; `undefined` if anything required is missing or wrong. */
export function advertisedFields(id: string, txt: Map<string, string> | undefined): AdvertisedFields | undefined {
  if (txt === undefined) return undefined
  if (txt.get('id')?.toLowerCase() !== id) return undefined
  const key = txt.get('pk')
  if (key === undefined || !/^[A-Za-z0-9+/]{43}=$/.test(key)) return undefined
  const publicKey = decodeKey(key)
  if (publicKey === undefined) return undefined
  const version = Number(txt.get('v'))
  if (!Number.isSafeInteger(version) || version < 0) return undefined
  const groupTag = txt.get('g')
  if (groupTag === undefined || groupTag.length === 0 || groupTag.length > 64) return undefined
  return { publicKey, key, version, groupTag }
}
