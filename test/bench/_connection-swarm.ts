/** Opens `count` meshkit connections (one layer each) to one peer, for the RSS-per-connection figure. */
import { createConnectionLayer, type ConnectionLayer } from '@meshkit/connection'
import { deriveGroupKey, encodeCredential, ephemeralIdentity, issueCredential } from '@meshkit/identity'
import { createInterface } from 'node:readline'

const [secret, peerId, address, countArg] = process.argv.slice(2)
const group = deriveGroupKey(secret!)
const count = Number(countArg)
const layers: ConnectionLayer[] = []
for (let i = 0; i < count; i++) {
  const identity = ephemeralIdentity()
  const layer = createConnectionLayer({ identity, group, credential: encodeCredential(issueCredential(group, identity.id, identity.publicKey)), listen: ['127.0.0.1:0'] })
  await layer.start()
  layer.addPeer({ id: peerId!, addresses: [address!] })
  layers.push(layer)
}
await Promise.all(
  layers.map(
    (l) =>
      new Promise<void>((resolve) => {
        if (l.connectedPeers().length > 0) resolve()
        else l.once('peer:connected', () => resolve())
      }),
  ),
)
process.stdout.write(`${JSON.stringify({ ev: 'connected', count })}\n`)
createInterface({ input: process.stdin }).on('line', () => {
  void Promise.all(layers.map((l) => l.stop())).then(() => process.exit(0))
})
