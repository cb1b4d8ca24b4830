// A third-party tlock implementation (drand's tlock-js, with drand-client
// for HTTP; not our code) against a local drand HTTP API that serves the
// recorded quicknet beacons of tests/data/quicknet.jsonl, so it needs no
// network: the server listens on 127.0.0.1 (port 0) and is the only thing
// the client is pointed at.
//
// Usage:
//   node tlock.mjs encrypt ROUND IN OUT [--binary]
//                                        timelockEncrypt IN's bytes to quicknet round ROUND;
//                                        OUT gets tlock-js's output (always armored age), or
//                                        with --binary the age file inside that armor
//   node tlock.mjs decrypt IN OUT        timelockDecrypt IN (armored or binary age); OUT
//                                        gets the plaintext
//   node tlock.mjs serve [SECONDS]       only the server: prints `serving <url>` (the
//                                        chain-hash-less base URL) and runs until stdin
//                                        closes or SECONDS pass (120 unless given)
//
// encrypt and decrypt print one line and exit: `ok bytes=<n> requests=<method path>,...`
// (n: bytes written to OUT; the requests the server answered, in order) with
// exit code 0, or `err <reason>` with exit code 1, also after 30 s at most.
//
// The server answers `GET /info`, `/chains`, `/public/<round>`,
// `/public/latest`, and each of them under `/<chain hash>/` too, in the
// shape of drand's v1 HTTP API (chain info as api.drand.sh serves it;
// beacons as recorded). A round that is not recorded is a 404, as is any
// other path. drand-client verifies the chain info against quicknet's hash
// and public key, and each beacon's BLS signature and randomness.
import fs from 'node:fs'
import http from 'node:http'
import tlock from 'tlock-js'

const { timelockEncrypt, timelockDecrypt, HttpChainClient, HttpCachingChain } = tlock

// quicknet's /info (tests/data/README.md, "Chain parameters").
const INFO = {
  public_key: '83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a',
  period: 3,
  genesis_time: 1692803367,
  hash: '52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971',
  groupHash: 'f477d5c89f21a17c863a7f937c6a6d15859414d2be09cd448d4279af331c5d3e',
  schemeID: 'bls-unchained-g1-rfc9380',
  metadata: { beaconID: 'quicknet' },
}
const TIMEOUT_MS = 30_000

// The bytes inside tlock-js's armor (its own decodeArmor is not exported).
const unarmor = (text) => {
  const lines = text.trimEnd().split('\n')
  if (lines[0] !== '-----BEGIN AGE ENCRYPTED FILE-----' || lines.at(-1) !== '-----END AGE ENCRYPTED FILE-----') {
    throw new Error('tlock-js did not write an armored age file')
  }
  return Buffer.from(lines.slice(1, -1).join(''), 'base64')
}
const say = (line) => process.stdout.write(`${line}\n`)
const fail = (reason) => {
  say(`err ${String(reason).replace(/\n/g, ' ')}`)
  process.exit(1)
}
// tlock-js logs every beacon it fetches to stdout (`beacon received: …`);
// keep stdout for our one line.
console.log = (...args) => process.stderr.write(`${args.join(' ')}\n`)

const beacons = new Map()
for (const line of fs.readFileSync(new URL('../data/quicknet.jsonl', import.meta.url), 'utf8').split('\n')) {
  if (line.trim()) {
    const beacon = JSON.parse(line)
    beacons.set(beacon.round, beacon)
  }
}
const latest = Math.max(...beacons.keys())

const requests = []
const server = http.createServer((req, res) => {
  const path = new URL(req.url, 'http://localhost').pathname
  requests.push(`${req.method} ${path}`)
  const reply = (status, body) => {
    res.writeHead(status, { 'content-type': status === 200 ? 'application/json' : 'text/plain' })
    res.end(status === 200 ? JSON.stringify(body) : `${body}\n`)
  }
  if (req.method !== 'GET') return reply(405, 'method not allowed')
  const parts = path.split('/').filter(Boolean)
  if (parts[0] === INFO.hash) parts.shift()
  else if (/^[0-9a-f]{64}$/.test(parts[0] ?? '')) return reply(404, 'unknown chain')
  if (parts.length === 1 && parts[0] === 'info') return reply(200, INFO)
  if (parts.length === 1 && parts[0] === 'chains') return reply(200, [INFO.hash])
  if (parts.length === 2 && parts[0] === 'public') {
    if (parts[1] === 'latest') return reply(200, beacons.get(latest))
    const round = /^[0-9]+$/.test(parts[1]) ? Number(parts[1]) : NaN
    if (beacons.has(round)) return reply(200, beacons.get(round))
    return reply(404, `round ${parts[1]} is not recorded`)
  }
  return reply(404, 'not found')
})
await new Promise((resolve, reject) => {
  server.once('error', reject)
  server.listen(0, '127.0.0.1', resolve)
})
const base = `http://127.0.0.1:${server.address().port}`

const [mode, ...args] = process.argv.slice(2)
if (mode === 'serve') {
  const seconds = Number(args[0] ?? 120)
  say(`serving ${base}`)
  const stop = () => process.exit(0)
  setTimeout(stop, seconds * 1000).unref()
  process.stdin.on('end', stop).on('close', stop).resume()
} else {
  setTimeout(() => fail(`no result within ${TIMEOUT_MS} ms`), TIMEOUT_MS).unref()
  const options = {
    disableBeaconVerification: false,
    noCache: false,
    chainVerificationParams: { chainHash: INFO.hash, publicKey: INFO.public_key },
  }
  // As tlock-js's own mainnetClient does, with our base URL.
  const client = new HttpChainClient(new HttpCachingChain(`${base}/${INFO.hash}`, options), options)
  try {
    let output
    const binary = mode === 'encrypt' && args[3] === '--binary'
    if (binary) args.pop()
    if (mode === 'encrypt' && args.length === 3) {
      const round = Number(args[0])
      if (!Number.isSafeInteger(round)) fail(`bad round ${args[0]}`)
      const armored = await timelockEncrypt(round, fs.readFileSync(args[1]), client)
      output = binary ? unarmor(armored) : Buffer.from(armored, 'utf8')
    } else if (mode === 'decrypt' && args.length === 2) {
      // timelockDecrypt takes a string: armored text, or binary age as one
      // char per byte (it reads it back with Buffer.from(…, 'binary')).
      output = await timelockDecrypt(fs.readFileSync(args[0], 'latin1'), client)
    } else {
      fail('usage: node tlock.mjs encrypt ROUND IN OUT [--binary] | decrypt IN OUT | serve [SECONDS]')
    }
    fs.writeFileSync(args[args.length - 1], output)
    say(`ok bytes=${output.length} requests=${requests.join(',')}`)
    process.exit(0)
  } catch (e) {
    fail(`${e?.message ?? e} (requests=${requests.join(',')})`)
  }
}
