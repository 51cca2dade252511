/**
 * createTestMesh(n, { mode: 'sandbox' }): n mesh devices, each its own process
 * in its own network namespace on a sandbox LAN (real mDNS, real QUIC; needs
 * root), driven through the mesh-node fixture. The same helpers as the
 * in-process modes, plus what only separate processes can do: a real SIGKILL
 * and a restart with the same identity.
 */
import { generateGroupSecret } from '@meshkit/mesh'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { JsonEvent, JsonProcess } from './json-process.js'
import { lastLeader, MESH_NODE_FIXTURE, peerStates, waitForAgreedLeader, waitForEvents } from './mesh-devices.js'
import { createSandboxLan, type SandboxLan } from './sandbox/lan.js'

export interface SandboxTestMeshOptions {
  mode: 'sandbox'
  /** Mesh options for every device, as JSON (e.g. `{ election: { priority: 1 } }`). */
  args?: Record<string, unknown>
  /** Per device. */
  each?: (index: number) => Record<string, unknown>
  /** Channels whose messages the devices report (see {@link SandboxDevice.messages}). */
  watch?: string[]
}

/** A device in the sandbox, driven over its stdin/stdout. */
export class SandboxDevice {
  constructor(
    readonly index: number,
    readonly id: string,
    readonly proc: JsonProcess,
  ) {}

  /** The leader as this device last reported it. */
  get leader(): { id: string | undefined; term: number } {
    const e = lastLeader(this.proc)
    return { id: e?.id as string | undefined, term: (e?.term as number | undefined) ?? 0 }
  }

  /** Peers this device reports ready now. */
  readyPeers(): string[] {
    return [...peerStates(this.proc)].filter(([, s]) => s === 'ready').map(([id]) => id)
  }

  /** Messages received so far on a watched channel. */
  messages(channel: string): JsonEvent[] {
    return this.proc.events.filter((e) => e.ev === 'msg' && e.channel === channel)
  }

  /** Sends a fixture command and resolves with its value; rejects with the device's error. */
  async command(cmd: Record<string, unknown>, timeoutMs = 10_000): Promise<unknown> {
    const since = this.proc.events.length
    this.proc.send(cmd)
    const result = await this.proc.waitFor('result', (e) => e.cmd === cmd.cmd, timeoutMs, since)
    if (result.ok !== true) {
      const error = result.error as { name: string; message: string }
      throw Object.assign(new Error(error.message), { name: error.name })
    }
    return result.value
  }

  broadcast(channel: string, payload: unknown, options: { asLeader?: boolean } = {}): Promise<unknown> {
    return this.command({ cmd: 'broadcast', channel, payload, asLeader: options.asLeader === true })
  }

  send(peerId: string, channel: string, payload: unknown): Promise<unknown> {
    return this.command({ cmd: 'send', peer: peerId, channel, payload })
  }

  becomeLeader(): Promise<unknown> {
    return this.command({ cmd: 'becomeLeader' })
  }

  stepDown(): Promise<unknown> {
    return this.command({ cmd: 'stepDown' })
  }
}

export interface SandboxTestMesh {
  lan: SandboxLan
  secret: string
  /** The devices; `kill(i)` leaves `devices[i]` dead until `restart(i)` replaces it. */
  devices: SandboxDevice[]
  /** Resolves when every live device has every other live one ready. */
  waitForFullMesh: (timeoutMs?: number) => Promise<void>
  /** Resolves with the leader every live device agrees on. */
  waitForLeader: (timeoutMs?: number) => Promise<{ id: string; term: number }>
  /** Splits the LAN: devices in different groups cannot reach each other. */
  partition: (groups: number[][]) => Promise<void>
  heal: () => Promise<void>
  /** SIGKILL: no goodbye, no handover; the others notice by themselves. */
  kill: (index: number) => Promise<void>
  /** Starts device `index` again with the same identity (same id). */
  restart: (index: number) => Promise<SandboxDevice>
  /** Kills every device and deletes the namespaces. */
  stop: () => Promise<void>
}

export async function createSandboxTestMesh(n: number, options: SandboxTestMeshOptions = { mode: 'sandbox' }): Promise<SandboxTestMesh> {
  const lan = await createSandboxLan({ hosts: n })
  const secret = generateGroupSecret()
  const app = `s${Math.random().toString(36).slice(2, 10)}`
  const storage = mkdtempSync(join(tmpdir(), 'meshkit-sandbox-mesh-'))
  const dead = new Set<number>()
  const spawn = async (i: number): Promise<SandboxDevice> => {
    const args = JSON.stringify({ secret, app, storage: join(storage, String(i)), interfaces: ['eth0'], watch: options.watch ?? [], ...options.args, ...options.each?.(i) })
    const proc = lan.host(i).spawnNode(MESH_NODE_FIXTURE, [args])
    const started = await proc.waitFor('started', () => true, 30_000)
    return new SandboxDevice(i, started.id as string, proc)
  }
  let devices: SandboxDevice[]
  try {
    devices = await Promise.all(Array.from({ length: n }, (_, i) => spawn(i)))
  } catch (err) {
    await lan.destroy()
    rmSync(storage, { recursive: true, force: true })
    throw err
  }
  const live = (): SandboxDevice[] => devices.filter((d) => !dead.has(d.index))
  return {
    lan,
    secret,
    devices,
    waitForFullMesh: async (timeoutMs = 20_000) => {
      const devicesNow = live()
      const ids = new Set(devicesNow.map((d) => d.id))
      const readyCount = (d: SandboxDevice): number => d.readyPeers().filter((id) => ids.has(id)).length
      await waitForEvents(
        devicesNow.map((d) => d.proc),
        'peer',
        () => (devicesNow.every((d) => readyCount(d) >= ids.size - 1) ? true : undefined),
        timeoutMs,
        () => `no full mesh: ${devicesNow.map(readyCount).join(',')} ready peers`,
      )
    },
    // a killed device may still be the last leader the others reported: wait for a live one
    waitForLeader: (timeoutMs = 20_000) =>
      waitForAgreedLeader(
        live().map((d) => d.proc),
        timeoutMs,
        new Set(devices.filter((d) => dead.has(d.index)).map((d) => d.id)),
      ),
    partition: (groups) => lan.partition(groups),
    heal: () => lan.heal(),
    kill: async (index) => {
      dead.add(index)
      await devices[index]?.proc.kill('SIGKILL')
    },
    restart: async (index) => {
      await devices[index]?.proc.kill('SIGKILL')
      const device = await spawn(index)
      devices[index] = device
      dead.delete(index)
      return device
    },
    stop: async () => {
      try {
        await Promise.all(devices.map((d) => d.proc.kill('SIGKILL')))
        await lan.destroy()
      } finally {
        rmSync(storage, { recursive: true, force: true })
      }
    },
  }
}

