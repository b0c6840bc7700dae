// Checks, in the browser's own WebCrypto, what the platform says of its
// audit log: a checkpoint signed as a C2SP signed note with an Ed25519 key
// (C2SP tlog-checkpoint) and an entry's RFC 6962 inclusion proof into the
// tree the checkpoint signs (RFC 9162, 2.1.3.2). docs/audit.md describes both.

const enc = new TextEncoder()

// base64Bytes decodes standard base64, as JSON carries bytes.
export function base64Bytes (s) {
  const bin = atob(s)
  const out = new Uint8Array(bin.length)
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
  return out
}

function hex (s) {
  if (!/^([0-9a-f]{2})*$/.test(s)) throw new Error('not hex')
  const out = new Uint8Array(s.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(2 * i, 2), 16)
  return out
}

function concat (...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) { out.set(p, o); o += p.length }
  return out
}

function equal (a, b) {
  return a.length === b.length && a.every((v, i) => v === b[i])
}

async function sha256 (...parts) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', concat(...parts)))
}

// leafHash is RFC 6962's hash of a leaf: SHA-256(0x00 ‖ leaf).
export function leafHash (leaf) {
  return sha256(new Uint8Array([0]), leaf)
}

// verifyCheckpoint checks a signed note against a verifier key
// (name+hash+base64 of 0x01 ‖ Ed25519 public key) and returns the
// checkpoint's origin, size and root; it throws when it does not verify.
export async function verifyCheckpoint (note, vkey) {
  // name+hash+key: the name holds no '+', but base64 may.
  const m = /^([^+]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(vkey || '')
  if (!m) throw new Error('not an Ed25519 note verifier key')
  const [, name, hashHex, keyB64] = m
  const key = base64Bytes(keyB64)
  if (key.length !== 33 || key[0] !== 1) throw new Error('not an Ed25519 note verifier key')
  const cut = note.indexOf('\n\n')
  if (cut < 0) throw new Error('not a signed note')
  const text = note.slice(0, cut + 1)
  const pub = await crypto.subtle.importKey('raw', key.slice(1), { name: 'Ed25519' }, false, ['verify'])
  let signed = false
  for (const line of note.slice(cut + 2).split('\n')) {
    const m = /^— (\S+) ([A-Za-z0-9+/=]+)$/.exec(line)
    if (!m || m[1] !== name) continue
    const sig = base64Bytes(m[2])
    if (sig.length !== 68 || sig.slice(0, 4).reduce((h, b) => h * 256 + b, 0).toString(16).padStart(8, '0') !== hashHex) continue
    if (await crypto.subtle.verify({ name: 'Ed25519' }, pub, sig.slice(4), enc.encode(text))) signed = true
  }
  if (!signed) throw new Error('the checkpoint is not signed by this key')
  const [origin, size, root] = text.split('\n')
  if (!/^[0-9]+$/.test(size || '')) throw new Error('not a checkpoint')
  return { origin, size: Number(size), root: base64Bytes(root) }
}

// verifyInclusion checks that the leaf at index is in the tree of size
// whose root is root, by the proof (hex hashes in RFC 6962 order).
export async function verifyInclusion (leaf, index, size, proof, root) {
  if (!(index < size)) return false
  let fn = index
  let sn = size - 1
  let r = await leafHash(leaf)
  for (const p of proof.map(hex)) {
    if (sn === 0) return false
    if (fn % 2 === 1 || fn === sn) {
      r = await sha256(new Uint8Array([1]), p, r)
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2) }
      }
    } else {
      r = await sha256(new Uint8Array([1]), r, p)
    }
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  return sn === 0 && equal(r, root)
}
