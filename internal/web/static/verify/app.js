// The verifier page: reads a ZZ1 payload (pasted, scanned or from an image),
// verifies it here with the shared verifier against the trust bundle saved
// on this device, and shows every check and what the code states.
import { verifyPresentation, bundleAges } from '/web/shared/zzverify.js'
import { messages } from './strings.js'
import { pickLang, translate } from '/web/shared/i18n.js'
import { cachedLabels, faceLabels, fieldLabel } from '/web/shared/labels.js'

const BUNDLE_URL = '/api/v1/licenses/trust-bundle'
const STORE_KEY = 'zhengzhao.verify.trust-bundle' // {savedAt, text}
const LANG_KEY = 'zhengzhao.verify.lang'
const $ = (id) => document.getElementById(id)

let lang = pickLang(LANG_KEY)
let trust = null // {bundle, savedAt}
let lastVerdict = null
let refreshError = null

function t (key, params = {}) {
  return translate(messages, lang, key, params)
}

function when (ms) {
  return new Date(ms).toLocaleString(lang === 'en' ? 'en-GB' : 'zh-CN', { hour12: false })
}

function age (seconds) {
  const s = Math.max(0, seconds)
  if (s < 120) return t('age.s', { n: s })
  if (s < 7200) return t('age.m', { n: Math.floor(s / 60) })
  if (s < 172800) return t('age.h', { n: Math.floor(s / 3600) })
  return t('age.d', { n: Math.floor(s / 86400) })
}

function applyLang () {
  document.documentElement.lang = lang
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n)
  $('lang-zh').setAttribute('aria-pressed', String(lang === 'zh-CN'))
  $('lang-en').setAttribute('aria-pressed', String(lang === 'en'))
  showTrust()
  showNetwork()
  if (lastVerdict) showVerdict(lastVerdict)
}

function setLang (l) {
  lang = l
  localStorage.setItem(LANG_KEY, l)
  applyLang()
}

// ---- the trust bundle, saved on this device ----

function loadSaved () {
  try {
    const s = JSON.parse(localStorage.getItem(STORE_KEY))
    if (s && s.text) return { bundle: JSON.parse(s.text), savedAt: s.savedAt }
  } catch (e) { /* a damaged copy is no copy */ }
  return null
}

async function refresh () {
  if (!navigator.onLine) return
  try {
    const r = await fetch(BUNDLE_URL, { cache: 'no-cache', headers: { Accept: 'application/json' } })
    if (!r.ok) throw new Error(`HTTP ${r.status}`)
    const text = await r.text()
    const bundle = JSON.parse(text)
    if (!bundle || !Array.isArray(bundle.presentation_keys)) throw new Error('not a trust bundle')
    const savedAt = Date.now()
    localStorage.setItem(STORE_KEY, JSON.stringify({ savedAt, text }))
    trust = { bundle, savedAt }
    refreshError = null
  } catch (e) {
    refreshError = e.message || String(e)
  }
  showTrust()
}

function showTrust () {
  const el = $('trust-state')
  if (!trust) {
    el.dataset.state = refreshError === null && navigator.onLine ? 'loading' : 'none'
    el.textContent = el.dataset.state === 'loading' ? t('trust.loading') : t('trust.none')
    return
  }
  const now = Date.now()
  const a = bundleAges(trust.bundle, now)
  let s = t('trust.state', {
    generated: when(a.generatedAt),
    bundleAge: age(a.bundleAge),
    statusAsOf: a.statusAsOf === null ? '—' : when(a.statusAsOf),
    statusAge: a.statusAge === null ? '—' : age(a.statusAge),
    savedAt: when(trust.savedAt)
  })
  if (a.stale) s += ' ' + t('trust.stale')
  if (refreshError) s += ' ' + t('trust.failed', { message: refreshError })
  el.textContent = s
  el.dataset.state = a.stale ? 'stale' : 'ready'
}

function showNetwork () {
  $('network-state').textContent = navigator.onLine ? t('net.online') : t('net.offline')
}

// ---- verifying ----

async function verify (payload) {
  $('input-error').textContent = ''
  payload = payload.trim()
  if (payload === '') {
    $('input-error').textContent = t('input.empty')
    return
  }
  if (!trust) {
    $('input-error').textContent = t('trust.none')
    return
  }
  const v = await verifyPresentation(payload, trust.bundle, Date.now())
  showVerdict(v)
}

function outcome (v) {
  if (v.valid) return 'valid'
  return v.checks.some((c) => !c.ok && !c.unknown) ? 'invalid' : 'unknown'
}

function reasonParams (c) {
  const p = { ...c.params }
  for (const k of ['iat', 'exp']) if (p[k] !== undefined) p[k] = when(p[k] * 1000)
  if (p.asOf !== undefined) p.asOf = when(p.asOf)
  if (p.age !== undefined) p.age = age(p.age)
  return p
}

function showVerdict (v) {
  lastVerdict = v
  const result = $('result')
  result.hidden = false
  const o = outcome(v)
  result.dataset.valid = String(v.valid)
  result.dataset.outcome = o
  // For people who want the raw verdict, and for the browser tests.
  result.dataset.verdict = JSON.stringify(v, (k, x) => (typeof x === 'bigint' ? x.toString() : x))
  $('verdict').dataset.outcome = o
  $('verdict').textContent = t('verdict.' + o)
  const list = $('checks')
  list.replaceChildren()
  for (const c of v.checks) {
    const li = document.createElement('li')
    li.dataset.check = c.name
    li.dataset.ok = String(c.ok)
    li.dataset.code = c.code
    if (c.unknown) li.dataset.unknown = 'true'
    const mark = document.createElement('span')
    mark.className = 'mark'
    mark.textContent = c.ok ? '✓' : c.unknown ? '?' : '✗'
    const name = document.createElement('strong')
    name.textContent = t('check.' + c.name)
    const reason = document.createElement('span')
    reason.className = 'reason'
    reason.textContent = t('reason.' + c.code, reasonParams(c))
    if (!c.ok && c.detail) reason.title = c.detail
    li.append(mark, name, reason)
    list.append(li)
  }
  const p = v.presented
  $('presented').hidden = !p
  if (!p) return
  $('presented-note').textContent = v.valid ? t('result.vouched') : t('result.notvouched')
  const rows = [['license_id', p.license_id], ['holder', p.holder], ['type_code', `${p.type_code} v${p.type_version}`],
    ['issuer_code', p.issuer_code]]
  for (const [k, x] of Object.entries(p.fields)) rows.push([null, k, x === null ? '—' : String(x)])
  rows.push(['issued_at', when(Date.parse(p.issued_at))], ['expires', when(Date.parse(p.expires))], ['issuer', p.issuer],
    ['kid', p.kid], ['nonce', p.nonce])
  // Face fields by their template's labels when this device has them;
  // online, they are fetched once and the verdict shown again.
  const labels = cachedLabels(p.type_code, p.type_version)
  if (!labels) faceLabels(p.type_code, p.type_version).then((l) => { if (l && lastVerdict === v) showVerdict(v) })
  const body = $('presented-rows')
  body.replaceChildren()
  for (const row of rows) {
    const tr = document.createElement('tr')
    const th = document.createElement('th')
    const td = document.createElement('td')
    if (row[0] === null) {
      tr.dataset.field = row[1]
      th.textContent = fieldLabel(labels, row[1], lang)
      td.textContent = row[2]
    } else {
      tr.dataset.claim = row[0]
      th.textContent = t('field.' + row[0])
      td.textContent = row[1]
    }
    tr.append(th, td)
    body.append(tr)
  }
}

// ---- reading QR codes: BarcodeDetector when the browser has one, else jsQR ----

let detector = null
if ('BarcodeDetector' in globalThis) {
  try { detector = new globalThis.BarcodeDetector({ formats: ['qr_code'] }) } catch (e) { detector = null }
}
const canvas = document.createElement('canvas')

async function readQR (source, width, height) {
  if (detector) {
    try {
      const codes = await detector.detect(source)
      if (codes.length) return codes[0].rawValue
    } catch (e) { /* fall back to jsQR */ }
  }
  canvas.width = width
  canvas.height = height
  const ctx = canvas.getContext('2d', { willReadFrequently: true })
  ctx.drawImage(source, 0, 0, width, height)
  const img = ctx.getImageData(0, 0, width, height)
  const code = globalThis.jsQR(img.data, width, height, { inversionAttempts: 'attemptBoth' })
  return code ? code.data : null
}

async function fromImage (file) {
  $('input-error').textContent = ''
  const bmp = await createImageBitmap(file)
  const text = await readQR(bmp, bmp.width, bmp.height)
  bmp.close()
  if (!text) {
    $('input-error').textContent = t('input.nocode')
    return
  }
  $('payload').value = text
  await verify(text)
}

let stream = null
async function startCamera () {
  $('input-error').textContent = ''
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false })
  } catch (e) {
    $('input-error').textContent = t('input.nocamera', { message: e.message || e.name })
    return
  }
  const video = $('video')
  video.srcObject = stream
  $('scanner').hidden = false
  await video.play()
  const tick = async () => {
    if (!stream) return
    if (video.readyState >= 2 && video.videoWidth) {
      const text = await readQR(video, video.videoWidth, video.videoHeight)
      if (text && text.startsWith('ZZ1:')) {
        stopCamera()
        $('payload').value = text
        await verify(text)
        return
      }
    }
    requestAnimationFrame(tick)
  }
  requestAnimationFrame(tick)
}

function stopCamera () {
  if (stream) for (const tr of stream.getTracks()) tr.stop()
  stream = null
  $('video').srcObject = null
  $('scanner').hidden = true
}

// ---- wiring ----

$('lang-zh').addEventListener('click', () => setLang('zh-CN'))
$('lang-en').addEventListener('click', () => setLang('en'))
$('verify').addEventListener('click', () => verify($('payload').value))
$('refresh').addEventListener('click', () => refresh())
$('camera').addEventListener('click', () => startCamera())
$('stop').addEventListener('click', () => stopCamera())
$('image').addEventListener('change', (e) => { if (e.target.files[0]) fromImage(e.target.files[0]) })
addEventListener('online', () => { showNetwork(); refresh() })
addEventListener('offline', () => showNetwork())
setInterval(showTrust, 30000) // the ages shown keep counting

if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/verify/sw.js', { scope: '/verify/' }).catch(() => {})
}
trust = loadSaved()
applyLang()
refresh()
