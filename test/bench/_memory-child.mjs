// Child of the memory benchmark: RSS at each stage of one device's life, in MiB.
// Plain JavaScript on the built packages, so no TypeScript loader is counted.
import { readFileSync } from 'node:fs'

const mb = () => Math.round((process.memoryUsage().rss / 2 ** 20) * 10) / 10
const bare = mb()
const { createMesh, generateGroupSecret } = await import('@meshkit/mesh')
const { silentLogger } = await import('@meshkit/log')
const loaded = mb()
const options = { group: { secret: generateGroupSecret() }, storage: 'memory', discovery: 'none', loopbackOnly: true, logger: silentLogger() }
const mesh = await createMesh(options)
const started = mb()
// nine peers in the same process would count their memory here: measure one peer's connection instead
const other = await createMesh(options)
mesh.addPeer(other.addresses[0])
await mesh.ready({ peers: 1 })
for (let i = 0; i < 1000; i++) await mesh.send(other.id, 'x', { i })
const connected = mb()
const status = readFileSync('/proc/self/status', 'utf8')
process.stdout.write(`${JSON.stringify({ bare, loaded, started, connected_two_meshes: connected, threads: Number(/Threads:\s+(\d+)/.exec(status)?.[1]) })}\n`)
await Promise.all([mesh.stop(), other.stop()])
