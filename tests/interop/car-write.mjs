// A third-party writer of the CAR layout `zks grid import-car` reads:
// @ipld/car's CarWriter (not our code) writes, multiformats computes the
// CIDs (CIDv1, raw, sha2-256).
//
// Usage: node car-write.mjs OUT.car CHAIN_HASH INDEX=FILE...
// Each INDEX=FILE is a chunk: FILE holds its bytes, INDEX its chunk index.
// Writes the chunk index (`{"chain": CHAIN_HASH, "chunks": {INDEX: CID}}`,
// the JSON seeders serve at /{chainhash}/chunks) as the first block, then
// the chunks in the order given; the roots are the index's CID, then each
// chunk's. One-shot: prints `ok blocks=<n> roots=<cid>,...` and exits 0,
// or `err <reason>` and exits 1.
import fs from 'node:fs'
import { once } from 'node:events'
import { Readable } from 'node:stream'
import { CarWriter } from '@ipld/car'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'

const fail = (reason) => { process.stdout.write(`err ${reason}\n`); process.exit(1) }

const [out, chain, ...specs] = process.argv.slice(2)
if (!out || !chain || specs.length === 0) fail('usage: node car-write.mjs OUT.car CHAIN_HASH INDEX=FILE...')
try {
  const cidOf = async (bytes) => CID.create(1, raw.code, await sha256.digest(bytes))
  const chunks = []
  for (const spec of specs) {
    const at = spec.indexOf('=')
    if (at < 1) fail(`${spec} is not INDEX=FILE`)
    const bytes = new Uint8Array(fs.readFileSync(spec.slice(at + 1)))
    chunks.push({ index: spec.slice(0, at), bytes, cid: await cidOf(bytes) })
  }
  const index = { chain, chunks: Object.fromEntries(chunks.map((c) => [c.index, c.cid.toString()])) }
  const indexBytes = new TextEncoder().encode(JSON.stringify(index))
  const indexCid = await cidOf(indexBytes)
  const roots = [indexCid, ...chunks.map((c) => c.cid)]
  const { writer, out: stream } = CarWriter.create(roots)
  const file = fs.createWriteStream(out)
  Readable.from(stream).pipe(file)
  await writer.put({ cid: indexCid, bytes: indexBytes })
  for (const c of chunks) await writer.put({ cid: c.cid, bytes: c.bytes })
  await writer.close()
  await once(file, 'close')
  process.stdout.write(`ok blocks=${chunks.length + 1} roots=${roots.map(String).join(',')}\n`)
} catch (e) {
  fail(String(e?.message ?? e).replace(/\n/g, ' '))
}
