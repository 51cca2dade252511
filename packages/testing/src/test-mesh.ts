/**
 * createTestMesh(n): n started meshes in this process, connected on loopback,
 * plus the helpers integration tests need. `memory` discovery is instant and
 * deterministic; `loopback` runs real mDNS confined to 127.0.0.1 (safe on any
 * machine). For devices in separate processes and a real LAN, see the sandbox.
 */
import { createMemoryDiscoveryNetwork, memoryDiscovery, type MemoryDiscoveryNetwork } from '@meshkit/discovery'
import { silentLogger } from '@meshkit/log'
import { memoryStore, type IdentityStore } from '@meshkit/identity'
import { createMesh, generateGroupSecret, type LeaderView, type Mesh, type MeshOptions } from '@meshkit/mesh'
import { randomBytes } from 'node:crypto'
import { createSandboxTestMesh, type SandboxTestMesh, type SandboxTestMeshOptions } from './sandbox-mesh.js'

export interface TestMeshOptions {
  mode?: 'memory' | 'loopback'
  /** Options for every mesh (group, storage, discovery and loopbackOnly are set by the harness unless given). */
  options?: Partial<MeshOptions>
  /** Per-mesh options (e.g. election priority). */
  each?: (index: number) => Partial<MeshOptions>
}

export interface TestMesh {
  meshes: Mesh[]
  secret: string
  /** Resolves when every mesh has every other one ready. */
  waitForFullMesh: (timeoutMs?: number) => Promise<void>
  /** Resolves with the leader once every running mesh agrees on one. */
  waitForLeader: (timeoutMs?: number) => Promise<LeaderView>
  /** Memory mode: hides the groups (mesh indexes) from each other and cuts their connections. */
  partition: (groups: number[][]) => void
  heal: () => void
  /** Starts one more mesh in the same group. */
  add: (options?: Partial<MeshOptions>) => Promise<Mesh>
  /**
   * Mesh `index` goes away without a discovery goodbye (memory mode: as if it
   * crashed; its connections close and its leadership is handed over as on
   * stop). A SIGKILL with no handover at all needs a separate process: see
   * the mesh-node fixture and the sandbox harness.
   */
  kill: (index: number) => Promise<void>
  /** Starts mesh `index` again with the same identity (same id), after kill() or stop(). */
  restart: (index: number) => Promise<Mesh>
  stop: () => Promise<void>
}

async function until(check: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/**
 * `n` started meshes and helpers. `memory` and `loopback` run them in this
 * process; `sandbox` runs each in its own process and network namespace (see
 * {@link createSandboxTestMesh}).
 */
export function createTestMesh(n: number, init: SandboxTestMeshOptions): Promise<SandboxTestMesh>
export function createTestMesh(n: number, init?: TestMeshOptions): Promise<TestMesh>
export async function createTestMesh(n: number, init: TestMeshOptions | SandboxTestMeshOptions = {}): Promise<TestMesh | SandboxTestMesh> {
  if (init.mode === 'sandbox') return createSandboxTestMesh(n, init)
  return createLocalTestMesh(n, init)
}

async function createLocalTestMesh(n: number, init: TestMeshOptions): Promise<TestMesh> {
  const mode = init.mode ?? 'memory'
  const secret = generateGroupSecret()
  const network: MemoryDiscoveryNetwork = createMemoryDiscoveryNetwork()
  const mdnsPort = 20_000 + Math.floor(Math.random() * 30_000)
  const app = `t${randomBytes(4).toString('hex')}`
  const meshes: Mesh[] = []
  // one store per mesh, kept: a restarted mesh keeps its identity
  const stores: IdentityStore[] = []
  const make = async (index: number, extra: Partial<MeshOptions> = {}): Promise<Mesh> =>
    createMesh({
      group: { secret },
      storage: (stores[index] ??= memoryStore()),
      loopbackOnly: true,
      logger: silentLogger(),
      ...(mode === 'memory' ? { discovery: (ad) => memoryDiscovery({ advertisement: ad, network }) } : { app, mdns: { mdnsPort } }),
      ...init.options,
      ...init.each?.(index),
      ...extra,
    } as MeshOptions)
  meshes.push(...(await Promise.all(Array.from({ length: n }, (_, i) => make(i)))))
  const running = (): Mesh[] => meshes.filter((m) => m.status === 'running')
  let groups: number[][] | undefined
  const sameSide = (a: number, b: number): boolean => groups === undefined || groups.some((g) => g.includes(a) && g.includes(b))

  return {
    meshes,
    secret,
    waitForFullMesh: async (timeoutMs = 10_000) =>
      until(
        () => running().every((m) => m.peers().filter((p) => p.state === 'ready').length >= running().length - 1),
        timeoutMs,
        () => `a full mesh: ${running().map((m) => m.peers().filter((p) => p.state === 'ready').length).join(',')} ready peers`,
      ),
    waitForLeader: async (timeoutMs = 10_000) => {
      await until(
        () => {
          const views = running().map((m) => m.leader)
          return views.length > 0 && views[0]!.id !== undefined && views.every((v) => v.id === views[0]!.id && v.term === views[0]!.term)
        },
        timeoutMs,
        () => `one agreed leader: ${running().map((m) => `${m.leader.id?.slice(0, 8)}@${m.leader.term}`).join(', ')}`,
      )
      return running()[0]!.leader
    },
    partition: (g) => {
      if (mode !== 'memory') throw new Error('partition() needs mode memory (a sandbox LAN partitions real networks)')
      groups = g
      network.partition(g.map((group) => group.map((i) => meshes[i]!.id)))
      meshes.forEach((m, i) => meshes.forEach((o, j) => i !== j && !sameSide(i, j) && m.disconnect(o.id)))
    },
    heal: () => {
      groups = undefined
      network.heal()
    },
    add: async (options) => {
      const m = await make(meshes.length, options)
      meshes.push(m)
      return m
    },
    kill: async (index) => {
      const m = meshes[index]
      if (m === undefined) throw new RangeError(`no mesh ${index}`)
      if (mode === 'memory' && m.status === 'running') network.crash(m.id)
      await m.stop()
    },
    restart: async (index) => {
      const old = meshes[index]
      if (old === undefined) throw new RangeError(`no mesh ${index}`)
      await old.stop()
      const m = await make(index)
      meshes[index] = m
      return m
    },
    stop: async () => {
      await Promise.all(meshes.map((m) => m.stop()))
    },
  }
}
