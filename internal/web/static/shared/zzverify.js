// Verifies a holder's ZZ1 QR payload (docs/qr-format.md) in the browser,
// offline, against the platform's trust bundle: the same checks, in the same
// order and under the same names as verify.Presentation, so that a page and
// the platform agree on a payload. Pages import it; it touches no DOM.
//
// SM2 needs sm-crypto's sm2.js loaded first as a classic script (it sets
// globalThis.sm2); ES256 uses WebCrypto.

import { decode as cborDecode, Tokenizer, Type } from '../vendor/cborg-6.1.5/cborg.js'

export const PREFIX = 'ZZ1:'
export const MAX_PAYLOAD = 4296 // characters: a version 40-L QR code
export const MAX_INFLATED = 8 << 10 // bytes of COSE_Sign1
export const CLOCK_SKEW = 1000 // ms, verify.DefaultClockSkew
export const MAX_STATUS_AGE = 24 * 3600 * 1000 // ms, verify.DefaultMaxStatusAge

export const ALG_SM2 = -65537
export const ALG_ES256 = -7
const ALG_NAMES = new Map([[ALG_SM2, 'SM2-SM3'], [ALG_ES256, 'ECDSA-P256-SHA256']])

const COSE_SIGN1_TAG = 0xd2 // tag 18, one byte
const SIG_SIZE = 64
const NONCE_SIZE = 16
const SM2_USER_ID = '1234567812345678' // GM/T 0009's default, as the platform's keys sign
// W3C Bitstring Status List v1.0 bounds, as internal/codec/statuslist.
const MIN_LIST_BYTES = 131072 / 8
const MAX_LIST_BYTES = (1 << 24) / 8

// A failed check: code names the reason for the page's messages, params
// fill them, detail is English for logs.
export class CheckError extends Error {
  constructor (code, detail, params = {}) {
    super(detail)
    this.code = code
    this.params = params
  }
}

// ---- Base45 (RFC 9285) ----

const B45 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:'

export function base45Decode (s) {
  if (s.length % 3 === 1) throw new CheckError('encoding', `Base45: a length of ${s.length} is 1 modulo 3`)
  const vals = new Array(s.length)
  for (let i = 0; i < s.length; i++) {
    const v = B45.indexOf(s[i])
    if (v < 0) throw new CheckError('encoding', `Base45: character ${JSON.stringify(s[i])} at ${i} is outside the alphabet`)
    vals[i] = v
  }
  const out = new Uint8Array(Math.floor(s.length / 3) * 2 + (s.length % 3 === 2 ? 1 : 0))
  let o = 0
  for (let i = 0; i < s.length; i += 3) {
    if (i + 2 < s.length) {
      const n = vals[i] + vals[i + 1] * 45 + vals[i + 2] * 2025
      if (n > 0xffff) throw new CheckError('encoding', `Base45: triplet at ${i} is above 65535`)
      out[o++] = n >> 8
      out[o++] = n & 0xff
    } else {
      const n = vals[i] + vals[i + 1] * 45
      if (n > 0xff) throw new CheckError('encoding', `Base45: last pair is above 255`)
      out[o++] = n
    }
  }
  return out
}

// ---- zlib / gzip through the browser's DecompressionStream ----

// inflate undoes format ('deflate' is zlib, RFC 1950; 'gzip'), reading at
// most limit bytes: a small input must not expand into a large allocation.
// A truncated stream or a wrong checksum makes the stream fail.
export async function inflate (bytes, format, limit, tooLarge) {
  const ds = new DecompressionStream(format)
  const writer = ds.writable.getWriter()
  writer.write(bytes).catch(() => {})
  writer.close().catch(() => {})
  const reader = ds.readable.getReader()
  const chunks = []
  let total = 0
  for (;;) {
    let r
    try {
      r = await reader.read()
    } catch (e) {
      throw new CheckError('encoding', `${format}: ${e.message || e}`)
    }
    if (r.done) break
    total += r.value.length
    if (total > limit) {
      reader.cancel().catch(() => {})
      throw tooLarge
    }
    chunks.push(r.value)
  }
  const out = new Uint8Array(total)
  let o = 0
  for (const c of chunks) {
    out.set(c, o)
    o += c.length
  }
  return out
}

// ---- CBOR, as strictly as the platform's decoder reads it ----

const strictCBOR = {
  useMaps: true,
  rejectDuplicateMapKeys: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowInfinity: true,
  allowNaN: true,
  allowBigInt: true,
  retainStringBytes: true,
  tags: [] // a tag anywhere inside is refused
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

// StrictTokenizer refuses a text string that is not valid UTF-8, which
// cborg's decoder would otherwise read with replacement characters.
class StrictTokenizer extends Tokenizer {
  next () {
    const t = super.next()
    if (t.type === Type.string) utf8.decode(t.byteValue)
    return t
  }
}

// The platform's decoder's bounds (qr's strictDec): maps of at most 64
// pairs, arrays of at most 16 elements.
const MAX_MAP_PAIRS = 64
const MAX_ARRAY = 16

function bounded (v) {
  if (v instanceof Map) {
    if (v.size > MAX_MAP_PAIRS) throw new Error(`a map of ${v.size} pairs, at most ${MAX_MAP_PAIRS}`)
    for (const x of v.values()) bounded(x)
  } else if (Array.isArray(v)) {
    if (v.length > MAX_ARRAY) throw new Error(`an array of ${v.length} elements, at most ${MAX_ARRAY}`)
    for (const x of v) bounded(x)
  }
}

// decodeCBOR reads one CBOR item as strictly as the platform's decoder:
// no duplicate map keys, indefinite lengths, tags, undefined or invalid
// UTF-8, nothing after the item.
export function decodeCBOR (bytes) {
  const v = cborDecode(bytes, { ...strictCBOR, tokenizer: new StrictTokenizer(bytes, strictCBOR) })
  bounded(v)
  return v
}

function cbor (bytes, what, code) {
  try {
    return decodeCBOR(bytes)
  } catch (e) {
    throw new CheckError(code, `${what}: ${e.message}`)
  }
}

const isInt = (v) => (typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint'
const isText = (v) => typeof v === 'string'

// decodePayload reads a payload up to its claims; nothing in it is trusted
// yet (qr.Decode). It throws a CheckError.
export async function decodePayload (payload) {
  if (payload.length > MAX_PAYLOAD) {
    throw new CheckError('too-large', `${payload.length} characters, at most ${MAX_PAYLOAD}`, { n: payload.length, max: MAX_PAYLOAD })
  }
  if (!payload.startsWith(PREFIX)) throw new CheckError('prefix', 'not a ZZ1 payload')
  const z = base45Decode(payload.slice(PREFIX.length))
  const signed = await inflate(z, 'deflate', MAX_INFLATED,
    new CheckError('too-large', `inflates beyond ${MAX_INFLATED} bytes`, { n: MAX_INFLATED, max: MAX_INFLATED }))
  if (signed.length === 0 || signed[0] !== COSE_SIGN1_TAG) throw new CheckError('structure', 'not tagged COSE_Sign1 (18)')
  const msg = cbor(signed.subarray(1), 'COSE_Sign1', 'structure')
  if (!Array.isArray(msg) || msg.length !== 4) throw new CheckError('structure', 'COSE_Sign1 is not an array of 4')
  const [protectedBytes, unprotected, body, signature] = msg
  if (!(protectedBytes instanceof Uint8Array)) throw new CheckError('structure', 'protected header is not a byte string')
  if (!(unprotected instanceof Map) || unprotected.size !== 0) throw new CheckError('structure', 'unprotected header is not empty')
  if (!(body instanceof Uint8Array)) throw new CheckError('structure', 'detached or missing payload')
  if (!(signature instanceof Uint8Array) || signature.length !== SIG_SIZE) {
    throw new CheckError('structure', `signature of ${signature?.length} bytes, want ${SIG_SIZE}`)
  }
  const h = cbor(protectedBytes, 'protected header', 'structure')
  if (!(h instanceof Map)) throw new CheckError('structure', 'protected header is not a map')
  for (const k of h.keys()) {
    if (k !== 1 && k !== 4) throw new CheckError('structure', `protected header label ${k} is not known`)
  }
  const kid = h.get(4)
  if (!(kid instanceof Uint8Array) || kid.length === 0) throw new CheckError('structure', 'kid missing')
  if (!h.has(1)) throw new CheckError('algorithm', 'alg missing')
  const alg = Number(h.get(1))
  if (!isInt(h.get(1)) || !ALG_NAMES.has(alg)) throw new CheckError('algorithm', `unsupported algorithm ${h.get(1)}`, { alg: String(h.get(1)) })
  const claims = readClaims(cbor(body, 'claims', 'claims'))
  return { alg, algName: ALG_NAMES.get(alg), kid, claims, protectedBytes, body, signature }
}

function claimsError (detail) { return new CheckError('claims', detail) }

function only (m, keys, what) {
  if (!(m instanceof Map)) throw claimsError(`${what} is not a map`)
  for (const k of m.keys()) {
    if (!keys.includes(k)) throw claimsError(`${what}: unknown key ${k}`)
  }
}

function text (m, k, name) {
  const v = m.get(k)
  if (!isText(v) || v === '') throw claimsError(`${name} is empty or not text`)
  return v
}

function uint (m, k, name) {
  const v = m.get(k)
  if (!isInt(v) || v < 0) throw claimsError(`${name} is not an unsigned integer`)
  return v
}

// readClaims checks the claims map as qr's unmarshalClaims does.
function readClaims (c) {
  only(c, [1, 4, 6, -65537], 'claims')
  if (!c.has(6) || !c.has(4)) throw claimsError('iat or exp missing')
  const iat = c.get(6)
  const exp = c.get(4)
  if (!isInt(iat) || !isInt(exp)) throw claimsError('iat or exp is not an integer')
  const iss = c.has(1) ? c.get(1) : ''
  if (!isText(iss)) throw claimsError('iss is not text')
  const l = c.has(-65537) ? c.get(-65537) : new Map()
  only(l, [1, 2, 3, 4, 5, 6, 7, 8, 9], 'license')
  if (!l.has(8)) throw claimsError('status index missing')
  if (!l.has(6)) throw claimsError('fields missing')
  const lists = l.get(7)
  if (!Array.isArray(lists) || lists.length !== 2 || !lists.every(isText)) throw claimsError('status lists are not two URLs')
  const nonce = l.get(9)
  if (!(nonce instanceof Uint8Array) || nonce.length !== NONCE_SIZE) throw claimsError(`nonce is not ${NONCE_SIZE} bytes`)
  const fieldsMap = l.get(6)
  if (!(fieldsMap instanceof Map)) throw claimsError('fields is not a map')
  const fields = {}
  for (const [k, v] of fieldsMap) {
    if (!isText(k)) throw claimsError('a field name is not text')
    const ok = v === null || typeof v === 'boolean' || isText(v) || (isInt(v) && BigInt(v) >= -(2n ** 63n) && BigInt(v) < 2n ** 63n)
    if (!ok) throw claimsError(`field ${JSON.stringify(k)} is not a string, an integer, a bool or null`)
    fields[k] = typeof v === 'bigint' ? v.toString() : v
  }
  const out = {
    issuer: iss,
    iat: Number(iat),
    exp: Number(exp),
    licenseId: text(l, 1, 'license id'),
    typeCode: text(l, 2, 'type code'),
    typeVersion: Number(uint(l, 3, 'type version')),
    issuerCode: text(l, 4, 'issuer credit code'),
    holder: text(l, 5, 'holder'),
    fields,
    revocationList: lists[0],
    suspensionList: lists[1],
    statusIndex: uint(l, 8, 'status index'),
    nonce
  }
  if (iss === '') throw claimsError('iss is empty')
  if (lists[0] === '' || lists[1] === '') throw claimsError('a status list is empty')
  if (out.typeVersion === 0) throw claimsError('type version is 0, versions start at 1')
  if (out.iat <= 0) throw claimsError('iat is not after 1970')
  if (out.exp <= out.iat) throw claimsError('exp is not after iat')
  return out
}

// ---- the signature ----

const te = new TextEncoder()

function bstrHead (n) {
  if (n < 24) return [0x40 | n]
  if (n <= 0xff) return [0x58, n]
  return [0x59, n >> 8, n & 0xff]
}

// sigStructure is RFC 9052 §4.4's ["Signature1", protected, h'', payload].
export function sigStructure (protectedBytes, body) {
  const parts = [[0x84, 0x6a], te.encode('Signature1'), bstrHead(protectedBytes.length), protectedBytes, [0x40],
    bstrHead(body.length), body]
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

export const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')

function b64urlBytes (s) {
  if (typeof s !== 'string' || !/^[A-Za-z0-9_-]*$/.test(s)) throw new Error('not base64url')
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - s.length % 4) % 4))
  return Uint8Array.from(bin, (c) => c.charCodeAt(0))
}

// verifySignature checks the COSE signature, r ‖ s, under the JWK of a
// presentation key.
export async function verifySignature (p, jwk) {
  const data = sigStructure(p.protectedBytes, p.body)
  if (p.alg === ALG_ES256) {
    const key = await crypto.subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y },
      { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify'])
    return crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, p.signature, data)
  }
  const sm2 = globalThis.sm2
  if (!sm2 || typeof sm2.doVerifySignature !== 'function') throw new Error('the SM2 library is not loaded')
  const pad = (b) => hex(b).padStart(64, '0')
  const pub = '04' + pad(b64urlBytes(jwk.x)) + pad(b64urlBytes(jwk.y))
  // SM3(Z_A ‖ Sig_structure), Z_A for the default user ID; r ‖ s, not DER.
  return sm2.doVerifySignature(Array.from(data), hex(p.signature), pub, { der: false, hash: true, userId: SM2_USER_ID })
}

// ---- the trust bundle's status lists ----

const bitstrings = new WeakMap() // snapshot → Promise<Uint8Array>

async function decodeBitstring (encoded) {
  if (typeof encoded !== 'string' || !encoded.startsWith('u')) throw new Error('encoded list is not multibase base64url ("u")')
  const gz = b64urlBytes(encoded.slice(1))
  const bits = await inflate(gz, 'gzip', MAX_LIST_BYTES, new Error(`list longer than ${MAX_LIST_BYTES * 8} entries`))
  if (bits.length < MIN_LIST_BYTES) throw new Error(`list of ${bits.length * 8} entries, fewer than the minimum ${MIN_LIST_BYTES * 8}`)
  return bits
}

function snapshot (bundle, listURL, purpose) {
  return (bundle.status_lists || []).find((s) => s.list_url === listURL && s.purpose === purpose)
}

async function statusBit (bundle, listURL, purpose, index) {
  const s = snapshot(bundle, listURL, purpose)
  if (!s) throw new Error(`no snapshot of the status list: ${purpose} list ${listURL}`)
  if (!bitstrings.has(s)) bitstrings.set(s, decodeBitstring(s.encoded_list))
  let bits
  try {
    bits = await bitstrings.get(s)
  } catch (e) {
    throw new Error(`${purpose} list ${listURL}: ${e.message}`)
  }
  const i = BigInt(index)
  if (i / 8n >= BigInt(bits.length)) throw new Error(`${purpose} list ${listURL}: index ${index} is outside the list of ${bits.length * 8} bits`)
  const n = Number(i)
  return { set: (bits[n >> 3] & (0x80 >> (n & 7))) !== 0, asOf: Date.parse(s.fetched_at) }
}

// ---- the verdict ----

const check = (name, ok, code, params = {}, extra = {}) => ({ name, ok, code, params, ...extra })

function failure (name, e) {
  if (e instanceof CheckError) return check(name, false, e.code, e.params, { detail: e.message })
  return check(name, false, 'error', { message: String(e?.message || e) }, { detail: String(e?.message || e) })
}

function keyCheck (bundle, p) {
  const kid = hex(p.kid)
  const k = (bundle.presentation_keys || []).find((x) => x.kid === kid)
  const iat = p.claims.iat * 1000
  if (!k) return [check('key', false, 'unknown-key', { kid }, { detail: `the trust lists no presentation key ${kid}` }), null]
  if (k.alg !== p.algName) return [check('key', false, 'key-algorithm', { kid, key: k.alg, alg: p.algName }), null]
  if (iat < Math.floor(Date.parse(k.valid_from) / 1000) * 1000) return [check('key', false, 'key-not-yet', { kid, from: k.valid_from }), null]
  if (k.valid_until && iat > Date.parse(k.valid_until)) return [check('key', false, 'key-retired', { kid, until: k.valid_until }), null]
  return [check('key', true, 'ok', { kid, alg: k.alg }), k]
}

async function statusCheck (bundle, c, now) {
  const entries = [['revocation', c.revocationList], ['suspension', c.suspensionList]]
  const unknown = []
  let asOf = null
  for (const [purpose, url] of entries) {
    let r
    try {
      r = await statusBit(bundle, url, purpose, c.statusIndex)
    } catch (e) {
      unknown.push(e.message)
      continue
    }
    if (asOf === null || r.asOf < asOf) asOf = r.asOf
    if (r.set) {
      const state = purpose === 'revocation' ? 'revoked' : 'suspended'
      return check('status', false, state, { asOf: r.asOf, age: ageSeconds(r.asOf, now) }, { asOf: new Date(r.asOf).toISOString() })
    }
  }
  if (unknown.length) return check('status', false, 'status-unknown', { message: unknown.join('; ') }, { unknown: true, detail: unknown.join('; ') })
  const extra = { asOf: new Date(asOf).toISOString() }
  if (now - asOf > MAX_STATUS_AGE) {
    return check('status', false, 'status-stale', { asOf, age: ageSeconds(asOf, now), max: MAX_STATUS_AGE / 1000 }, { unknown: true, ...extra })
  }
  return check('status', true, 'in-force', { asOf, age: ageSeconds(asOf, now) }, extra)
}

export const ageSeconds = (then, now) => Math.trunc((now - then) / 1000)

// verifyPresentation judges payload at now (ms since 1970) with the trust
// bundle (the parsed JSON of GET /api/v1/licenses/trust-bundle), as
// verify.Presentation does: format, key, signature, expiry, status, each
// run once the one before passed (expiry and status both once the
// signature verified). presented carries the claims once the signature
// verified; only a valid verdict vouches for them.
export async function verifyPresentation (payload, bundle, now = Date.now()) {
  const checks = []
  const verdict = { valid: false, checks, presented: null }
  let p
  try {
    p = await decodePayload(payload)
  } catch (e) {
    checks.push(failure('format', e))
    return verdict
  }
  checks.push(check('format', true, 'ok'))
  const [kc, key] = keyCheck(bundle, p)
  checks.push(kc)
  if (!key) return verdict
  let ok
  try {
    ok = await verifySignature(p, key.jwk)
  } catch (e) {
    checks.push(failure('signature', e))
    return verdict
  }
  if (!ok) {
    checks.push(check('signature', false, 'bad-signature', { kid: key.kid }))
    return verdict
  }
  checks.push(check('signature', true, 'ok', { alg: key.alg }))
  const c = p.claims
  if (now < c.iat * 1000 - CLOCK_SKEW || now >= c.exp * 1000 + CLOCK_SKEW) {
    checks.push(check('expiry', false, now < c.iat * 1000 ? 'not-yet' : 'expired', { iat: c.iat, exp: c.exp }))
  } else {
    checks.push(check('expiry', true, 'ok', { iat: c.iat, exp: c.exp }))
  }
  verdict.presented = {
    license_id: c.licenseId,
    type_code: c.typeCode,
    type_version: c.typeVersion,
    issuer_code: c.issuerCode,
    holder: c.holder,
    fields: c.fields,
    issued_at: new Date(c.iat * 1000).toISOString().replace('.000Z', 'Z'),
    expires: new Date(c.exp * 1000).toISOString().replace('.000Z', 'Z'),
    issuer: c.issuer,
    kid: key.kid,
    nonce: hex(c.nonce)
  }
  checks.push(await statusCheck(bundle, c, now))
  verdict.valid = checks.every((x) => x.ok)
  return verdict
}

// bundleAges says how old a trust bundle is at now: since it was built, and
// since its oldest status list was read (what the status check relies on).
export function bundleAges (bundle, now = Date.now()) {
  const lists = (bundle.status_lists || []).map((s) => Date.parse(s.fetched_at)).filter((t) => !Number.isNaN(t))
  const oldest = lists.length ? Math.min(...lists) : null
  return {
    generatedAt: Date.parse(bundle.generated_at),
    bundleAge: ageSeconds(Date.parse(bundle.generated_at), now),
    statusAsOf: oldest,
    statusAge: oldest === null ? null : ageSeconds(oldest, now),
    stale: oldest === null || now - oldest > MAX_STATUS_AGE
  }
}
