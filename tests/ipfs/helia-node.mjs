// An IPFS node for the tests: Helia's UnixFS (@helia/unixfs) over an in-memory
// blockstore, serving the subset of Kubo's RPC API that `cmnode ipfs` uses:
//
//   POST /api/v0/add?cid-version=1&raw-leaves=true   multipart/form-data, one file
//   POST /api/v0/cat?arg=<cid>                        the file's bytes
//
// Files are imported as Kubo imports them (fixed-size chunks of 262,144 bytes,
// balanced DAG with at most 174 links per node), so the CIDs are Kubo's.
// There is no networking besides this HTTP listener: no libp2p, no bootstrap.
// The full `helia` node is not used because its libp2p stack needs Node 22.
//
// Usage: node helia-node.mjs [--port N]   (prints "listening http://127.0.0.1:PORT")

import http from 'node:http'
import { unixfs } from '@helia/unixfs'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'
import { CID } from 'multiformats/cid'

const MAX_UPLOAD = 1024 * 1024 * 1024
const KUBO_CHUNK = 262144
const KUBO_LINKS = 174

const fs = unixfs({ blockstore: new MemoryBlockstore() })

function kuboError (res, status, message) {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ Message: message, Code: 0, Type: 'error' }) + '\n')
}

async function readBody (req) {
  const chunks = []
  let size = 0
  for await (const chunk of req) {
    size += chunk.length
    if (size > MAX_UPLOAD) throw new Error('request body too large')
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}

async function add (req, res, params) {
  const body = await readBody(req)
  const form = await new Request('http://local/', {
    method: 'POST', headers: { 'content-type': req.headers['content-type'] ?? '' }, body
  }).formData()
  const file = [...form.values()].find((value) => typeof value !== 'string')
  if (file === undefined) return kuboError(res, 400, 'file argument \'path\' is required')
  const cidVersion = Number(params.get('cid-version') ?? '0')
  const rawLeaves = params.has('raw-leaves') ? params.get('raw-leaves') === 'true' : cidVersion === 1
  const bytes = new Uint8Array(await file.arrayBuffer())
  const cid = await fs.addBytes(bytes, {
    cidVersion,
    rawLeaves,
    chunker: fixedSize({ chunkSize: KUBO_CHUNK }),
    layout: balanced({ maxChildrenPerNode: KUBO_LINKS })
  })
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ Name: file.name ?? '', Hash: cid.toString(), Size: String(bytes.length) }) + '\n')
}

async function cat (req, res, params) {
  let cid
  try {
    cid = CID.parse((params.get('arg') ?? '').replace(/^\/ipfs\//, ''))
  } catch (err) {
    return kuboError(res, 400, `invalid path: ${err.message}`)
  }
  const chunks = []
  try {
    for await (const chunk of fs.cat(cid)) chunks.push(chunk)
  } catch (err) {
    return kuboError(res, 500, err.message)
  }
  res.writeHead(200, { 'content-type': 'text/plain', 'x-stream-output': '1' })
  res.end(Buffer.concat(chunks))
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://local/')
  if (req.method !== 'POST') return kuboError(res, 405, `${req.method} not allowed`)
  const handler = { '/api/v0/add': add, '/api/v0/cat': cat }[url.pathname]
  if (handler === undefined) return kuboError(res, 404, `unknown command ${url.pathname}`)
  handler(req, res, url.searchParams).catch((err) => {
    if (res.headersSent) res.destroy()
    else kuboError(res, 500, err.message)
  })
})

const portFlag = process.argv.indexOf('--port')
const port = portFlag >= 0 ? Number(process.argv[portFlag + 1]) : 0
server.listen(port, '127.0.0.1', () => {
  console.log(`listening http://127.0.0.1:${server.address().port}`)
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))
