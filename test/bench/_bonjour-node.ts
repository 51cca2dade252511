/**
 * The baseline of the discovery benchmark: bonjour-service with its default
 * options (publish + browse), in a sandbox host, speaking JSON lines like the
 * meshkit discovery fixture.
 */
import { Bonjour } from 'bonjour-service'
import { randomUUID } from 'node:crypto'
import { createInterface } from 'node:readline'

const out = (ev: string, data: Record<string, unknown> = {}): void => void process.stdout.write(`${JSON.stringify({ ev, t: Date.now(), ...data })}\n`)
const id = randomUUID()
let bonjour: Bonjour | undefined
process.on('uncaughtException', (err) => out('error', { name: err.name, message: err.message, fatal: true }))

createInterface({ input: process.stdin }).on('line', (line) => {
  const c = JSON.parse(line) as { cmd: string }
  if (c.cmd === 'start') {
    const t0 = Date.now()
    bonjour = new Bonjour()
    bonjour.publish({ name: id, type: 'meshkit', protocol: 'udp', port: 4000, txt: { id } })
    const browser = bonjour.find({ type: 'meshkit', protocol: 'udp' })
    browser.on('up', (s: { name: string }) => s.name !== id && out('found', { peer: { id: s.name } }))
    browser.on('down', (s: { name: string }) => s.name !== id && out('lost', { id: s.name, reason: 'goodbye' }))
    out('started', { id, t0 })
  } else if (c.cmd === 'stop') {
    out('stopping')
    bonjour?.unpublishAll(() => {
      bonjour?.destroy()
      out('stopped')
    })
  }
})
out('ready', { id })
