// Two devices on loopback: they connect, authenticate and exchange a message each way.
import { createConnectionLayer } from '../packages/connection/dist/index.js'
import { deriveGroupKey, encodeCredential, ephemeralIdentity, generateGroupSecret, issueCredential } from '../packages/identity/dist/index.js'

const group = deriveGroupKey(generateGroupSecret())
let received = 0
let allReceived
const bothReceived = new Promise((r) => (allReceived = r))
const device = async (name) => {
  const identity = ephemeralIdentity()
  const layer = createConnectionLayer({ identity, group, credential: encodeCredential(issueCredential(group, identity.id, identity.publicKey)), listen: ['127.0.0.1:0'] })
  await layer.start()
  layer.handle('hello', ({ payload }) => {
    console.log(`${name} received: ${new TextDecoder().decode(payload)}`)
    if (++received === 2) allReceived()
  })
  console.log(`${name}: device ${identity.id} listening on ${layer.addresses.map((a) => `${a.host}:${a.port}`).join(', ')}`)
  return layer
}
const a = await device('A')
const b = await device('B')
const connected = Promise.all([a, b].map((l) => new Promise((r) => l.once('peer:connected', (e) => r(e)))))
a.addPeer({ addresses: b.addresses })
const [ea] = await connected
console.log(`connected (${ea.connection.direction === 'outbound' ? 'A dialed B' : 'B dialed A'}), one QUIC connection, key ${ea.connection.key}`)
await a.send(b.id, 'hello', new TextEncoder().encode('hi from A'))
await b.send(a.id, 'hello', new TextEncoder().encode('hi from B (on the same connection)'))
await bothReceived
await Promise.all([a.stop(), b.stop()])
console.log('stopped cleanly')
