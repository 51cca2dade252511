#!/usr/bin/env node
/**
 * sync-board: one mesh device serving the shared board's page.
 *
 *   node dist/main.js [--port 0] [--secret S | MESHKIT_SECRET] [--lan] [--json] [--mdns-port P]
 *
 * Discovery stays on loopback unless --lan. User errors are one line on
 * stderr and exit code 2.
 */
import { createServer, type Server } from 'node:http'
import { silentLogger } from '@meshkit/log'
import { createMesh, type Mesh } from '@meshkit/mesh'
import { BoardNode, short } from './node.js'
import { parseArgs, UsageError, USAGE, type Args } from './args.js'
import { boardHandler } from './server.js'

async function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject)
      const address = server.address()
      resolve(typeof address === 'object' && address !== null ? address.port : port)
    })
  })
}

// Works around a bug in @meshkit/mesh (request()): when the connection to the
// peer closes while the request is still being written, the write fails (and
// request() rejects with it, which node.ts handles) but the request's internal
// answer promise is rejected too, with RequestInterruptedError, and nobody
// awaits it: an unhandled rejection, which ends a Node process. Only that error
// is ignored here; anything else still ends the process.
process.on('unhandledRejection', (reason) => {
  if (reason instanceof Error && reason.name === 'RequestInterruptedError') return
  console.error('sync-board: unhandled rejection:', reason)
  process.exit(1)
})

async function main(): Promise<void> {
  let args: Args
  try {
    args = parseArgs(process.argv.slice(2))
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    console.error(`sync-board: ${err.message}`)
    process.exit(2)
  }
  if (args.help) {
    console.log(USAGE)
    return
  }
  const out = (ev: string, fields: Record<string, unknown>, text: string): void => {
    console.log(args.json ? JSON.stringify({ ev, ...fields }) : text)
  }

  // the page's port first: a port in use fails before the device joins any mesh
  const server = createServer()
  let port: number
  try {
    port = await listen(server, args.port)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    console.error(
      code === 'EADDRINUSE'
        ? `sync-board: port ${args.port} is in use on 127.0.0.1: pick another with --port N (0 picks a free one)`
        : `sync-board: cannot listen on 127.0.0.1:${args.port}: ${code ?? (err as Error).message}`,
    )
    process.exit(2)
  }

  let mesh: Mesh
  try {
    mesh = await createMesh({
      app: 'sync-board',
      group: { secret: args.secret },
      storage: 'memory',
      loopbackOnly: !args.lan,
      ...(args.mdnsPort !== undefined ? { mdns: { mdnsPort: args.mdnsPort } } : {}),
      logger: silentLogger(),
    })
  } catch (err) {
    const name = (err as Error).name
    if (name === 'InvalidGroupSecretError' || name === 'InvalidMeshOptionsError') {
      // a user error: one line, exit 2
      console.error(`sync-board: ${(err as Error).message} (\`meshkit secret\` prints a new one)`)
      process.exit(2)
    }
    console.error(`sync-board: could not start the mesh: ${(err as Error).message}`)
    process.exit(1)
  }
  mesh.on('error', (err) => {
    if (args.json) out('mesh-error', { error: err.message }, '')
  })
  const node = new BoardNode(mesh, (line) => {
    if (args.json) out('log', { line }, '')
  })
  node.start()
  const handler = boardHandler(node)
  server.on('request', handler.handle)
  const url = `http://127.0.0.1:${port}/`
  out('listening', { url, id: mesh.id, lan: args.lan }, `sync-board ${short(mesh.id)}: open ${url}  (discovery: ${args.lan ? 'LAN' : 'loopback only'}; Ctrl-C stops)`)

  let leader: string | undefined
  mesh.leader$.subscribe((view) => {
    const key = `${view.id ?? ''}/${view.term}/${view.role}`
    if (key === leader) return
    leader = key
    out('leader', { id: view.id, term: view.term, role: view.role }, `leader: ${view.id === undefined ? '(none)' : short(view.id)} term ${view.term}${view.role === 'leader' ? ' (this device)' : ''}`)
  })
  let ready = -1
  mesh.peers$.subscribe((peers) => {
    const n = [...peers.values()].filter((p) => p.state === 'ready').length
    if (n === ready) return
    ready = n
    out('peers', { ready: n }, `peers connected: ${n}`)
  })

  let stopping = false
  const shutdown = (): void => {
    if (stopping) return
    stopping = true
    handler.close()
    server.close()
    server.closeAllConnections()
    node.stop()
    void mesh.stop().finally(() => process.exit(0))
  }
  process.on('SIGINT', shutdown)
  process.on('SIGTERM', shutdown)
}

main().catch((err: unknown) => {
  console.error(`sync-board: ${(err as Error).stack ?? String(err)}`)
  process.exit(1)
})
