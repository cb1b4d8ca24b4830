// A stand-in for the public libp2p network that IPFS runs, built from
// js-libp2p (a third-party implementation, not our code): an Amino DHT
// server (`/ipfs/kad/1.0.0`), a circuit-relay v2 server, Identify and Ping,
// over TCP with Noise and Yamux.
//
// Usage: node dht-node.mjs [LISTEN_MULTIADDR ...]
// Prints `ready <peer id> <address>...` once it listens (the line protocol of
// zks-testkit's JsPeer), then runs until stdin closes or it is killed. `ZKS_INTEROP_KEY` (64 hex digits)
// fixes its Ed25519 identity, so a restarted stand-in keeps its peer id.
//
// The public network's DHT servers drop private addresses from what they
// store; this stand-in runs on loopback and in private address space, so it
// keeps every address (passthroughMapper).
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'

const listen = process.argv.slice(2)
const seed = process.env.ZKS_INTEROP_KEY
const privateKey = seed ? await generateKeyPairFromSeed('Ed25519', Buffer.from(seed, 'hex')) : undefined

const node = await createLibp2p({
  privateKey,
  addresses: { listen: listen.length ? listen : ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  connectionGater: { denyDialMultiaddr: () => false },
  services: {
    identify: identify(),
    ping: ping(),
    dht: kadDHT({ protocol: '/ipfs/kad/1.0.0', clientMode: false, peerInfoMapper: passthroughMapper }),
    ...(process.env.ZKS_INTEROP_NO_RELAY === '1'
      ? {}
      : { relay: circuitRelayServer({ reservations: { maxReservations: 128 } }) }),
  },
})
await node.start()
for (const peer of (process.env.ZKS_INTEROP_PEERS ?? '').split(' ').filter(Boolean)) {
  await node.dial(multiaddr(peer)).catch((e) => process.stderr.write(`cannot dial ${peer}: ${e.message}\n`))
}
process.stdout.write(['ready', node.peerId.toString(), ...node.getMultiaddrs().map((a) => a.toString())].join(' ') + '\n')

const stop = async () => { await node.stop(); process.exit(0) }
process.stdin.on('end', stop)
process.stdin.resume()
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
