/**
 * The page's HTTP side, on node:http: static files from public/, the node's
 * view as Server-Sent Events (`GET /events`), changes as JSON (`POST
 * /api/changes`), and the "Become leader" button (`POST /api/leader`).
 */
import { readFile } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { ChangeError, type BoardNode } from './node.js'

export const MAX_BODY_BYTES = 64 * 1024
const PUBLIC = new URL('../public/', import.meta.url)
const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? `${body}\n` : JSON.stringify(body)
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json', 'cache-control': 'no-store' })
  res.end(text)
}

/** The request body as JSON: 413 past the limit, 400 when it is not JSON. */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) throw new HttpError(413, `body too large: at most ${MAX_BODY_BYTES} bytes`)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `body too large: at most ${MAX_BODY_BYTES} bytes`)
    chunks.push(chunk)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  if (text.trim() === '') throw new HttpError(400, 'empty body: send a JSON object')
  try {
    return JSON.parse(text) as unknown
  } catch {
    throw new HttpError(400, 'the body is not valid JSON')
  }
}

export interface BoardHandler {
  /** The `request` listener of a node:http server. */
  handle: (req: IncomingMessage, res: ServerResponse) => void
  /** Ends the event streams and timers. */
  close: () => void
}

export function boardHandler(node: BoardNode): BoardHandler {
  const streams = new Set<ServerResponse>()
  let pending: ReturnType<typeof setTimeout> | undefined
  const push = (): void => {
    pending = undefined
    if (streams.size === 0) return
    const data = `event: view\ndata: ${JSON.stringify(node.view())}\n\n`
    for (const res of streams) res.write(data)
  }
  // many changes in a burst become one update (at most ~20 a second)
  node.onChange(() => {
    pending ??= setTimeout(push, 50)
  })
  const keepAlive = setInterval(() => {
    for (const res of streams) res.write(': keep-alive\n\n')
  }, 15_000)
  keepAlive.unref()

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname
    const method = req.method ?? 'GET'
    const file = FILES[path]
    if (file !== undefined) {
      if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, `${method} not allowed on ${path}`)
      const body = await readFile(new URL(file.file, PUBLIC))
      res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store', 'content-length': body.length })
      res.end(method === 'HEAD' ? undefined : body)
      return
    }
    switch (path) {
      case '/events': {
        if (method !== 'GET') throw new HttpError(405, `${method} not allowed on ${path}`)
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' })
        res.write(`retry: 1000\nevent: view\ndata: ${JSON.stringify(node.view())}\n\n`)
        streams.add(res)
        req.on('close', () => streams.delete(res))
        return
      }
      case '/api/state':
        if (method !== 'GET') throw new HttpError(405, `${method} not allowed on ${path}`)
        send(res, 200, node.view())
        return
      case '/api/changes': {
        if (method !== 'POST') throw new HttpError(405, `${method} not allowed on ${path}: POST a JSON change`)
        const body = await readJson(req)
        try {
          send(res, 200, { ok: true, ...(await node.submit(body)) })
        } catch (err) {
          if (!(err instanceof ChangeError)) throw err
          send(res, err.code === 'invalid' ? 400 : err.code === 'rejected' ? 409 : 503, { ok: false, code: err.code, error: err.message })
        }
        return
      }
      case '/api/leader': {
        if (method !== 'POST') throw new HttpError(405, `${method} not allowed on ${path}`)
        try {
          send(res, 200, { ok: true, leader: await node.mesh.becomeLeader({ timeoutMs: 5_000 }) })
        } catch (err) {
          send(res, 503, { ok: false, code: 'unavailable', error: `could not become leader: ${(err as Error).message}` })
        }
        return
      }
      default:
        throw new HttpError(404, `not found: ${path}`)
    }
  }

  return {
    handle: (req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500
      const message = err instanceof HttpError ? err.message : `internal error: ${(err as Error).message}`
      if (res.headersSent) res.destroy()
      else {
        // an unread rest of an oversized body: close rather than read it all
        if (status === 413) res.setHeader('connection', 'close')
        const api = (req.url ?? '').startsWith('/api/')
        send(res, status, api ? { ok: false, code: status === 500 ? 'internal' : status === 413 ? 'too-large' : status === 404 ? 'not-found' : 'bad-request', error: message } : message)
      }
    })
    },
    close: () => {
      clearInterval(keepAlive)
      clearTimeout(pending)
      for (const res of streams) res.end()
      streams.clear()
    },
  }
}
