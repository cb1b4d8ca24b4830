// A third-party reader of our CAR files: @ipld/car's CarReader (not our
// code) reads the file, and every block is checked against its CID with
// multiformats' sha2-256.
//
// Usage: node car-read.mjs FILE.car
// One-shot: prints `ok blocks=<n> roots=<cid>,<cid>...` and exits 0, or
// prints `err <reason>` and exits 1 (a CAR it cannot read, a CID that is
// not CIDv1 raw sha2-256, a block whose bytes do not hash to its CID).
import fs from 'node:fs'
import { CarReader } from '@ipld/car'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { equals } from 'multiformats/bytes'

const fail = (reason) => { process.stdout.write(`err ${reason}\n`); process.exit(1) }

const [file] = process.argv.slice(2)
if (!file) fail('usage: node car-read.mjs FILE.car')
try {
  const reader = await CarReader.fromIterable(fs.createReadStream(file))
  const roots = (await reader.getRoots()).map((c) => c.toString())
  let blocks = 0
  for await (const { cid, bytes } of reader.blocks()) {
    if (cid.version !== 1 || cid.code !== raw.code || cid.multihash.code !== sha256.code) {
      fail(`block ${cid} is not CIDv1 raw sha2-256`)
    }
    const digest = await sha256.digest(bytes)
    if (!equals(digest.bytes, cid.multihash.bytes)) fail(`block ${cid} does not hash to its CID`)
    blocks += 1
  }
  process.stdout.write(`ok blocks=${blocks} roots=${roots.join(',')}\n`)
} catch (e) {
  fail(String(e?.message ?? e).replace(/\n/g, ' '))
}
