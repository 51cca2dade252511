#!/usr/bin/env node
/** The `meshkit` executable. */
import '@meshkit/connection/polyfill'
import { run } from './main.js'

const controller = new AbortController()
let interrupted = 0
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    // first Ctrl-C leaves the mesh cleanly; a second one does not wait
    if (++interrupted > 1) process.exit(130)
    controller.abort()
  })
}
const code = await run(process.argv.slice(2), undefined, controller.signal)
process.exit(code)
