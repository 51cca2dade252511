/**
 * The control socket of a running `meshkit up`: `peers`, `send` and `lead`
 * talk to it when it exists. One JSON line in, one JSON line out, on a Unix
 * socket only this user can open.
 */
import { existsSync, unlinkSync } from 'node:fs'
import { createConnection, createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface ControlRequest {
  cmd: 'peers' | 'send' | 'lead'
  channel?: string
  text?: string
}

export type ControlReply = { ok: true; value: unknown } | { ok: false; error: { name: string; message: string } }

export function controlPath(app: string): string {
  return join(tmpdir(), `meshkit-${app}-${process.getuid?.() ?? 0}.sock`)
}

/** Sends one request to a running `meshkit up`; undefined when none runs. */
export async function askRunning(app: string, request: ControlRequest, timeoutMs = 15_000): Promise<ControlReply | undefined> {
  const path = controlPath(app)
  if (!existsSync(path)) return undefined
  return new Promise((resolve, reject) => {
    const socket = createConnection(path)
    let buffer = ''
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`the running meshkit up (${path}) did not answer within ${timeoutMs} ms`))
    }, timeoutMs)
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`))
    socket.on('data', (d) => {
      buffer += d.toString('utf8')
      const nl = buffer.indexOf('\n')
      if (nl < 0) return
      clearTimeout(timer)
      socket.end()
      try {
        resolve(JSON.parse(buffer.slice(0, nl)) as ControlReply)
      } catch (err) {
        reject(err as Error)
      }
    })
    socket.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      // a socket file left by a process that died: nobody is running
      if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT') resolve(undefined)
      else reject(err)
    })
  })
}

/** Serves the control socket; undefined when another `meshkit up` of the app already serves it. */
export async function serveControl(app: string, handle: (request: ControlRequest) => Promise<unknown>): Promise<Server | undefined> {
  const path = controlPath(app)
  if (existsSync(path)) {
    const live = await new Promise<boolean>((resolve) => {
      const s = createConnection(path)
      s.on('connect', () => {
        s.destroy()
        resolve(true)
      })
      s.on('error', () => resolve(false))
    })
    if (live) return undefined
    unlinkSync(path)
  }
  const server = createServer((socket) => {
    let buffer = ''
    socket.on('data', (d) => {
      buffer += d.toString('utf8')
      const nl = buffer.indexOf('\n')
      if (nl < 0) {
        if (buffer.length > 1 << 20) socket.destroy()
        return
      }
      let request: ControlRequest
      try {
        request = JSON.parse(buffer.slice(0, nl)) as ControlRequest
      } catch {
        socket.end(`${JSON.stringify({ ok: false, error: { name: 'BadRequest', message: 'not JSON' } })}\n`)
        return
      }
      handle(request).then(
        (value) => socket.end(`${JSON.stringify({ ok: true, value })}\n`),
        (err: unknown) => socket.end(`${JSON.stringify({ ok: false, error: { name: (err as Error).name, message: (err as Error).message } })}\n`),
      )
    })
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(path, () => resolve())
  })
  server.unref()
  return server
}

export function closeControl(server: Server | undefined, app: string): void {
  if (server === undefined) return
  server.close()
  try {
    unlinkSync(controlPath(app))
  } catch {
    // already gone
  }
}
