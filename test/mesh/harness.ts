/** Meshes in separate processes: in sandbox hosts (real mDNS) or on this machine (loopback). */
import { generateGroupSecret } from '@meshkit/mesh'
import { lastLeader as lastLeaderOf, MESH_NODE_FIXTURE, peerStates as peerStatesOf, spawnJsonProcess, waitForAgreedLeader, waitForReadyPeers, type JsonEvent, type JsonProcess, type SandboxLan } from '@meshkit/testing'

export interface Device {
  proc: JsonProcess
  id: string
  index: number
}

export interface DeviceGroup {
  secret: string
  devices: Device[]
  spawn: (index: number, extra?: Record<string, unknown>) => JsonProcess
}

/** Spawns `n` mesh devices (in sandbox hosts when `lan` is given, else on loopback). */
export function deviceGroup(n: number, options: { lan?: SandboxLan; args?: Record<string, unknown>; each?: (i: number) => Record<string, unknown> } = {}): DeviceGroup {
  const secret = generateGroupSecret()
  const app = `m${Math.random().toString(36).slice(2, 10)}`
  const mdnsPort = 20_000 + Math.floor(Math.random() * 30_000)
  const spawn = (i: number, extra: Record<string, unknown> = {}): JsonProcess => {
    const args = JSON.stringify({
      secret,
      app,
      storage: 'memory',
      ...(options.lan !== undefined ? { interfaces: ['eth0'] } : { loopbackOnly: true, mdns: { mdnsPort } }),
      ...options.args,
      ...options.each?.(i),
      ...extra,
    })
    return options.lan !== undefined ? options.lan.host(i).spawnNode(MESH_NODE_FIXTURE, [args]) : spawnJsonProcess(MESH_NODE_FIXTURE, [args])
  }
  return { secret, devices: [], spawn }
}

export async function startDevices(group: DeviceGroup, n: number): Promise<Device[]> {
  const procs = Array.from({ length: n }, (_, i) => group.spawn(i))
  const started = await Promise.all(procs.map((p) => p.waitFor('started', () => true, 30_000)))
  group.devices = procs.map((proc, index) => ({ proc, id: started[index]!.id as string, index }))
  return group.devices
}

/** The latest state each device reported for each peer. */
export function peerStates(d: Device): Map<string, string> {
  return peerStatesOf(d.proc)
}

/** Resolves when `d` reports `count` ready peers (checks past and future events). */
export async function readyPeers(d: Device, count: number, timeoutMs: number): Promise<void> {
  await waitForReadyPeers(d.proc, count, timeoutMs)
}

export function lastLeader(d: Device): JsonEvent | undefined {
  return lastLeaderOf(d.proc)
}

/** Resolves when every listed device reports the same leader (not undefined) in the same term. */
export async function agreedLeader(devices: Device[], timeoutMs: number, notId?: string): Promise<{ id: string; term: number }> {
  return waitForAgreedLeader(
    devices.map((d) => d.proc),
    timeoutMs,
    notId,
  )
}

/** Sends a command and waits for its result event. */
export async function command(d: Device, cmd: Record<string, unknown>, timeoutMs = 10_000): Promise<JsonEvent> {
  const since = d.proc.events.length
  d.proc.send(cmd)
  return d.proc.waitFor('result', (e) => e.cmd === cmd.cmd, timeoutMs, since)
}
