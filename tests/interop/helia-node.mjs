// A Helia node (a third-party IPFS implementation, not our code) that
// speaks Bitswap and nothing else: js-libp2p over TCP with Noise and Yamux,
// Identify and Ping, listening on loopback; no DHT, no delegated routing,
// no HTTP gateways, no bootstrap list, so it contacts nothing but the peers
// a test tells it to dial. Blocks live in memory.
//
// Usage: node helia-node.mjs [LISTEN_MULTIADDR ...]
// Prints `ready <peer id> <address>...` once it listens (the line protocol of
// zks-testkit's JsPeer), then answers each stdin line with one line:
//
//   put <file path>       -> ok <cid>            (the file's bytes as a raw block, CIDv1 sha2-256)
//   get <cid> <multiaddr> [ms] -> ok <sha256 hex> (dials the peer, fetches the block over Bitswap
//                                                 within ms milliseconds, 20000 unless given)
//   has <cid>             -> ok yes | ok no      (whether the block is held locally)
//   anything else / a failure -> err <reason>
import { readFile } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { createInterface } from 'node:readline'
import { createHeliaLight } from 'helia'
import { withLibp2pLight } from '@helia/libp2p'
import { withBitswap } from '@helia/bitswap'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { multiaddr } from '@multiformats/multiaddr'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'

const listen = process.argv.slice(2)

const helia = withBitswap(withLibp2pLight(createHeliaLight({ routers: [], blockBrokers: [] }), {
  addresses: { listen: listen.length ? listen : ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  peerDiscovery: [],
  connectionGater: { denyDialMultiaddr: (ma) => !ma.toString().startsWith('/ip4/127.') },
  services: { identify: identify(), ping: ping() },
}))
await helia.start()
const node = helia.libp2p
process.stdout.write(['ready', node.peerId.toString(), ...node.getMultiaddrs().map((a) => a.toString())].join(' ') + '\n')

async function answer (line) {
  const [cmd, ...args] = line.trim().split(/\s+/)
  if (cmd === 'put' && args.length === 1) {
    const bytes = await readFile(args[0])
    const cid = CID.createV1(raw.code, await sha256.digest(bytes))
    await helia.blockstore.put(cid, bytes)
    return `ok ${cid.toString()}`
  }
  if (cmd === 'get' && (args.length === 2 || args.length === 3)) {
    const ms = args.length === 3 ? Number(args[2]) : 20_000
    const cid = CID.parse(args[0])
    await node.dial(multiaddr(args[1]), { signal: AbortSignal.timeout(10_000) })
    const bytes = await helia.blockstore.get(cid, { signal: AbortSignal.timeout(ms) })
    const chunks = []
    if (bytes instanceof Uint8Array) {
      chunks.push(bytes)
    } else {
      for await (const part of bytes) chunks.push(part)
    }
    return `ok ${createHash('sha256').update(Buffer.concat(chunks)).digest('hex')}`
  }
  if (cmd === 'has' && args.length === 1) {
    return `ok ${(await helia.blockstore.has(CID.parse(args[0]))) ? 'yes' : 'no'}`
  }
  return `err unknown command: ${line.trim()}`
}

// One command at a time, answered in order.
let queue = Promise.resolve()
const lines = createInterface({ input: process.stdin })
lines.on('line', (line) => {
  queue = queue.then(async () => {
    let out
    try {
      out = await answer(line)
    } catch (e) {
      out = `err ${String(e?.message ?? e).replace(/\s+/g, ' ')}`
    }
    process.stdout.write(out + '\n')
  })
})
const stop = async () => { await queue; await helia.stop(); process.exit(0) }
lines.on('close', stop)
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
