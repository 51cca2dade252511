// Forms a mesh of 3 in this process, uses it, stops it, and then must exit by
// itself: nothing may keep the event loop alive after stop().
import { createTestMesh } from '@meshkit/testing'

const mode = (process.argv[2] ?? 'memory') as 'memory' | 'loopback'
const tm = await createTestMesh(3, { mode, options: { channels: { r: { reliable: true } } } })
await tm.waitForFullMesh()
await tm.waitForLeader()
const [a, b] = tm.meshes
b!.respond('rpc', (x) => x)
await a!.request(b!.id, 'rpc', 1)
await a!.broadcast('r', 'reliable')
await a!.broadcast('plain', 'plain')
await tm.stop()
const left = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap' && r !== 'PipeWrap')
process.stdout.write(`${JSON.stringify({ ev: 'stopped', left })}\n`)
