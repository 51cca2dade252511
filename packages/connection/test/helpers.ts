import { deriveGroupKey, encodeCredential, ephemeralIdentity, issueCredential, type DeviceIdentity, type GroupKey } from '@meshkit/identity'
import { silentLogger } from '@meshkit/log'
import { createConnectionLayer, type ConnectionLayer, type ConnectionLayerInit } from '../src/index.js'

export const TEST_SECRET = 'meshkit-test-group-secret-0001'

export interface TestNode {
  identity: DeviceIdentity
  group: GroupKey
  layer: ConnectionLayer
}

export function nodeInit(identity: DeviceIdentity, group: GroupKey, overrides: Partial<ConnectionLayerInit> = {}): ConnectionLayerInit {
  return {
    identity,
    group,
    credential: encodeCredential(issueCredential(group, identity.id, identity.publicKey)),
    listen: ['127.0.0.1:0'],
    ...overrides,
  }
}

const started: ConnectionLayer[] = []

export async function startNode(overrides: Partial<ConnectionLayerInit> & { secret?: string; id?: string } = {}): Promise<TestNode> {
  const { secret, id, ...rest } = overrides
  const identity = ephemeralIdentity(id)
  const group = deriveGroupKey(secret ?? TEST_SECRET)
  const layer = createConnectionLayer(nodeInit(identity, group, rest), { logger: silentLogger() })
  await layer.start()
  started.push(layer)
  return { identity, group, layer }
}

export async function stopAll(): Promise<void> {
  await Promise.all(started.splice(0).map((l) => l.stop()))
}

/** Resolves with the first event payload matching `filter`, or rejects after `timeoutMs`. */
export async function nextEvent<T>(layer: ConnectionLayer, event: string, filter: (e: T) => boolean = () => true, timeoutMs = 5000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      layer.off(event as never, listener as never)
      reject(new Error(`no ${event} within ${timeoutMs} ms`))
    }, timeoutMs)
    const listener = (e: T): void => {
      if (!filter(e)) return
      clearTimeout(timer)
      layer.off(event as never, listener as never)
      resolve(e)
    }
    layer.on(event as never, listener as never)
  })
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s)
export const str = (b: Uint8Array): string => new TextDecoder().decode(b)

/** Two ids ordered: [smaller, larger]. */
export function orderedIds(): [string, string] {
  const a = crypto.randomUUID()
  const b = crypto.randomUUID()
  return a < b ? [a, b] : [b, a]
}
