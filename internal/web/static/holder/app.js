// The holder page: sign in (the identity provider, or the demo login where
// the platform offers it), list and read one's licenses, download their
// signed documents, show one as a dynamic QR code (亮证) that renews
// itself before it expires, and grant using units the use of a license
// for one of their matters (授权用证). The session is kept in sessionStorage (this
// tab only) and sent as a bearer token.
import { cachedLabels, faceLabels, fieldLabel, typeName } from '/web/shared/labels.js'
import { messages } from './strings.js'
import { pickLang, translate } from '/web/shared/i18n.js'
import { base64Bytes, verifyCheckpoint, verifyInclusion } from '/web/shared/tlog.js'

const SESSION_KEY = 'zhengzhao.holder.session' // {token, expiresAt, holder}
const LANG_KEY = 'zhengzhao.holder.lang'
// A code is renewed this long before it expires, so the one shown is
// always valid when scanned.
const RENEW_BEFORE_MS = 5000
// Only an active license is in force; the page says so of every other state.
const IN_FORCE = new Set(['active'])
const $ = (id) => document.getElementById(id)
// How many of the newest notices the list shows.
const INBOX_SIZE = 10

let lang = pickLang(LANG_KEY)
let session = loadSession()
let options = null // {oidc, demo}
let licenses = []
let inbox = [] // the newest notices of the holder's licenses
let current = null // {license, labels, face, transitions}
let showing = null // {timer, tick, expiresAt, disclose, url}
let grants = [] // the holder's authorizations
let unitMatters = null // {unit, items}: the approved matters of the unit asked last
let grantKey = '' // the Idempotency-Key of the authorization being sent
// The longest an authorization lasts (license.MaxGrantTerm).
const MAX_GRANT_DAYS = 366

function t (key, params = {}) {
  return translate(messages, lang, key, params)
}

function when (iso) {
  return new Date(iso).toLocaleDateString(lang === 'en' ? 'en-GB' : 'zh-CN')
}

function whenTime (iso) {
  return new Date(iso).toLocaleString(lang === 'en' ? 'en-GB' : 'zh-CN', { hour12: false })
}

// ---- the session ----

function loadSession () {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION_KEY))
    if (s && s.token && Date.parse(s.expiresAt) > Date.now()) return s
  } catch (e) { /* a damaged copy is no session */ }
  sessionStorage.removeItem(SESSION_KEY)
  return null
}

function saveSession (s) {
  session = s
  if (s) sessionStorage.setItem(SESSION_KEY, JSON.stringify(s))
  else sessionStorage.removeItem(SESSION_KEY)
}

// fromFragment takes the session the sign-in callback put in the fragment
// (#session=…&expires_at=…) and removes it from the address bar and history.
function fromFragment () {
  if (!location.hash.startsWith('#')) return
  const f = new URLSearchParams(location.hash.slice(1))
  const token = f.get('session')
  if (!token) return
  saveSession({ token, expiresAt: f.get('expires_at') || new Date(Date.now() + 3600e3).toISOString(), holder: null })
  history.replaceState(null, '', location.pathname + location.search)
}

// ---- the API ----

class Problem extends Error {
  constructor (status, doc) {
    super((doc && (doc.title || doc.detail)) || `HTTP ${status}`)
    this.status = status
    this.doc = doc
  }
}

async function api (method, path, body, accept = 'application/json', extra = {}) {
  const headers = { ...extra, Accept: accept, 'Accept-Language': lang }
  if (session) headers.Authorization = 'Bearer ' + session.token
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' })
  if (r.status === 401 && session) {
    // The session ended (idle, too old, or logged out elsewhere).
    endSession()
    throw new Problem(401, { title: t('error.session') })
  }
  if (!r.ok) {
    let doc = null
    try { doc = await r.json() } catch (e) { /* not a problem document */ }
    throw new Problem(r.status, doc)
  }
  return r
}

function showError (e) {
  const el = $('error')
  if (!e) {
    el.textContent = ''
    return
  }
  let s = e.message
  if (e.doc && Array.isArray(e.doc.errors) && e.doc.errors.length) {
    s += ': ' + e.doc.errors.map((f) => `${f.field} — ${f.message || f.rule}`).join('; ')
  }
  el.textContent = s
  el.dataset.status = String(e.status || '')
  el.dataset.rules = e.doc && Array.isArray(e.doc.errors) ? e.doc.errors.map((f) => f.rule).join(' ') : ''
}

// ---- views ----

function view (name) {
  for (const v of ['signin', 'list', 'detail', 'show', 'audit', 'grants']) $(v).hidden = v !== name
  $('me').hidden = !session
  document.body.dataset.view = name
  if (name !== 'show') stopShowing()
}

function applyLang () {
  document.documentElement.lang = lang
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n)
  $('lang-zh').setAttribute('aria-pressed', String(lang === 'zh-CN'))
  $('lang-en').setAttribute('aria-pressed', String(lang === 'en'))
  demoKind()
  showWho()
  if (!$('list').hidden) renderList()
  if (!$('detail').hidden && current) renderDetail()
  if (!$('show').hidden && current) renderShow(true)
  if (!$('grants').hidden) renderGrants(true)
}

function setLang (l) {
  lang = l
  localStorage.setItem(LANG_KEY, l)
  applyLang()
}

function showWho () {
  const h = session && session.holder
  $('who').textContent = h ? t('who', { name: h.representative ? `${h.name}（${h.representative}）` : h.name }) : t('who.unknown')
}

// ---- signing in ----

async function signInView () {
  view('signin')
  if (!options) {
    try {
      options = await (await api('GET', '/api/v1/holder/login-options')).json()
    } catch (e) {
      showError(e)
      options = { oidc: false, demo: false }
    }
  }
  $('oidc').hidden = !options.oidc
  $('demo').hidden = !options.demo
  $('signin-none').hidden = options.oidc || options.demo
}

function demoKind () {
  const org = $('demo-kind').value === 'organization'
  $('demo-id-label').textContent = t(org ? 'signin.demo.credit' : 'signin.demo.citizen')
  $('demo-rep-row').hidden = !org
}

async function demoLogin (ev) {
  ev.preventDefault()
  showError(null)
  const org = $('demo-kind').value === 'organization'
  const body = { name: $('demo-name').value.trim() }
  if (org) {
    body.credit_code = $('demo-id').value.trim()
    const rep = $('demo-rep').value.trim()
    if (rep) body.representative = rep
  } else {
    body.citizen_id = $('demo-id').value.trim()
  }
  try {
    const s = await (await api('POST', '/api/v1/holder/demo-login', body)).json()
    saveSession({ token: s.token, expiresAt: s.expires_at, holder: s.holder })
    showWho()
    await listView()
  } catch (e) {
    showError(e)
  }
}

function endSession () {
  saveSession(null)
  licenses = []
  current = null
  signInView()
}

async function logout () {
  showError(null)
  try {
    await api('POST', '/api/v1/holder/logout')
  } catch (e) {
    if (e.status !== 401) showError(e)
  }
  endSession()
}

// ---- my licenses ----

async function listView () {
  showError(null)
  view('list')
  try {
    const items = []
    let cursor = ''
    do {
      const page = await (await api('GET', '/api/v1/me/licenses?limit=100' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''))).json()
      items.push(...page.items)
      cursor = page.next_cursor || ''
    } while (cursor)
    licenses = items
    inbox = (await (await api('GET', '/api/v1/me/inbox?limit=' + INBOX_SIZE)).json()).items
    if (!session.holder) {
      // Signed in through the identity provider: ask who the session is.
      const me = await (await api('GET', '/api/v1/holder/session')).json()
      saveSession({ ...session, holder: me.holder })
      showWho()
    }
  } catch (e) {
    showError(e)
    return
  }
  renderList()
  // The type names, as the labels come in.
  for (const l of licenses) faceLabels(l.type, l.type_version).then((x) => { if (x && !$('list').hidden) renderList() })
}

function validity (l) {
  return l.valid_until ? t('validity.range', { from: when(l.valid_from), until: when(l.valid_until) }) : t('validity.open', { from: when(l.valid_from) })
}

// stateNote is the state of a license in words, saying when it is not in force.
function stateNote (l) {
  return IN_FORCE.has(l.state) ? t('state.' + l.state) : t('state.not-in-force', { state: t('state.' + l.state) })
}

function labelsOf (l) {
  return cachedLabels(l.type, l.type_version)
}

function renderList () {
  $('list-empty').hidden = licenses.length > 0
  const ul = $('licenses')
  ul.replaceChildren()
  for (const l of licenses) {
    const li = document.createElement('li')
    li.dataset.id = l.id
    li.dataset.state = l.state
    li.dataset.inForce = String(IN_FORCE.has(l.state))
    const b = document.createElement('button')
    b.type = 'button'
    const name = document.createElement('strong')
    name.className = 'type'
    name.textContent = typeName(labelsOf(l), l.type, lang)
    const num = document.createElement('span')
    num.className = 'number'
    num.textContent = t('license.number', { number: l.number })
    const st = document.createElement('span')
    st.className = 'state'
    st.textContent = stateNote(l)
    const v = document.createElement('span')
    v.className = 'validity'
    v.textContent = validity(l)
    b.append(name, num, st, v)
    b.addEventListener('click', () => detailView(l.id))
    li.append(b)
    ul.append(li)
  }
  renderInbox()
}

// renderInbox lists the notices (送达) of the holder's licenses, newest first.
function renderInbox () {
  $('inbox-empty').hidden = inbox.length > 0
  const ul = $('inbox')
  ul.replaceChildren()
  for (const n of inbox) {
    const l = licenses.find((x) => x.id === n.license_id)
    const params = {
      at: whenTime(n.at),
      type: l ? typeName(labelsOf(l), l.type, lang) : '',
      number: l ? l.number : n.license_id
    }
    const li = document.createElement('li')
    li.dataset.license = n.license_id
    li.dataset.operation = n.operation
    li.textContent = n.operation === 'issue'
      ? t('inbox.issue', params)
      : t('inbox.entry', { ...params, op: t('op.' + n.operation), from: t('state.' + n.from), to: t('state.' + n.to) })
    ul.append(li)
  }
}

// ---- one license ----

async function detailView (id) {
  showError(null)
  try {
    const license = await (await api('GET', `/api/v1/me/licenses/${encodeURIComponent(id)}`)).json()
    const [doc, hist, labels, reqs] = await Promise.all([
      api('GET', `/api/v1/me/licenses/${encodeURIComponent(id)}/document`).then((r) => r.json()),
      api('GET', `/api/v1/me/licenses/${encodeURIComponent(id)}/transitions?limit=100`).then((r) => r.json()),
      faceLabels(license.type, license.type_version),
      api('GET', `/api/v1/me/licenses/${encodeURIComponent(id)}/reissue-requests?limit=100`).then((r) => r.json())
    ])
    current = { license, labels, face: (doc.license && doc.license.face) || {}, transitions: hist.items, requests: reqs.items }
  } catch (e) {
    showError(e)
    return
  }
  view('detail')
  renderDetail()
}

function row (body, key, label, value) {
  const tr = document.createElement('tr')
  tr.dataset.key = key
  const th = document.createElement('th')
  th.textContent = label
  const td = document.createElement('td')
  td.textContent = value
  tr.append(th, td)
  body.append(tr)
}

function renderDetail () {
  const { license: l, labels, face } = current
  const detail = $('detail')
  detail.dataset.id = l.id
  detail.dataset.state = l.state
  $('detail-title').textContent = typeName(labels, l.type, lang)
  const warn = $('detail-warning')
  warn.hidden = IN_FORCE.has(l.state)
  warn.textContent = warn.hidden ? '' : t('warning.not-in-force', { state: t('state.' + l.state) })
  const rows = $('detail-rows')
  rows.replaceChildren()
  row(rows, 'number', t('license.number.label'), l.number)
  row(rows, 'state', t('license.state'), stateNote(l))
  row(rows, 'validity', t('license.validity'), validity(l))
  row(rows, 'holder', t('license.holder'), l.holder_name)
  row(rows, 'issuer', t('license.issuer'), l.issuer)
  row(rows, 'version', t('license.version'), String(l.version))
  row(rows, 'issued_at', t('license.issued_at'), whenTime(l.issued_at))
  const fr = $('face-rows')
  fr.replaceChildren()
  // In the template's order; a key the labels lack comes last.
  const order = labels ? labels.fields.map((f) => f.key).filter((k) => k in face) : []
  for (const k of Object.keys(face)) if (!order.includes(k)) order.push(k)
  for (const k of order) {
    const v = face[k]
    row(fr, k, fieldLabel(labels, k, lang), v === null || v === undefined ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v))
  }
  // The platform shows no code and prints no copy of a license not in force (409).
  $('to-show').disabled = !IN_FORCE.has(l.state)
  $('printout').disabled = !IN_FORCE.has(l.state)
  const ul = $('versions')
  ul.replaceChildren()
  const versions = new Set([1])
  for (const tr of current.transitions) if (tr.version) versions.add(tr.version)
  versions.add(l.version)
  const issued = document.createElement('li')
  issued.textContent = t('history.issued', { at: whenTime(l.issued_at) })
  ul.append(issued)
  for (const tr of current.transitions) {
    const li = document.createElement('li')
    li.dataset.seq = String(tr.seq)
    li.textContent = t('history.entry', { at: whenTime(tr.at), op: t('op.' + tr.operation), from: t('state.' + tr.from), to: t('state.' + tr.to), version: tr.version || '' })
    ul.append(li)
  }
  for (const v of [...versions].sort((a, b) => a - b)) {
    const li = document.createElement('li')
    const b = document.createElement('button')
    b.type = 'button'
    b.className = 'link'
    b.dataset.version = String(v)
    b.textContent = t(v === l.version ? 'history.download.current' : 'history.download', { version: v })
    b.addEventListener('click', () => download(v === l.version ? 0 : v))
    li.append(b)
    ul.append(li)
  }
  renderLoss()
}

// renderLoss offers the loss report (挂失) of a license in force and the
// reissue request (补办) of one reported lost, and lists the requests.
function renderLoss () {
  const l = current.license
  const open = current.requests.some((r) => r.state === 'open')
  $('report-lost').hidden = l.state !== 'active' || !$('lost-form').hidden
  if (l.state !== 'active') $('lost-form').hidden = true
  $('reissue-form').hidden = l.state !== 'reported-lost' || open
  const ul = $('reissue-requests')
  ul.replaceChildren()
  for (const r of current.requests) {
    const li = document.createElement('li')
    li.dataset.state = r.state
    li.textContent = t('reissue.request', { at: whenTime(r.created_at), state: t('reissue.state.' + r.state) }) +
      (r.answer ? t('reissue.answer', { answer: r.answer }) : '')
    ul.append(li)
  }
  $('loss').hidden = $('report-lost').hidden && $('lost-form').hidden && $('reissue-form').hidden && current.requests.length === 0
}

async function reportLost (ev) {
  ev.preventDefault()
  showError(null)
  const id = current.license.id
  try {
    await api('POST', `/api/v1/me/licenses/${encodeURIComponent(id)}/loss-report`, { reason: $('lost-reason').value.trim() })
  } catch (e) {
    showError(e)
    return
  }
  $('lost-form').hidden = true
  $('lost-reason').value = ''
  await detailView(id)
}

async function requestReissue (ev) {
  ev.preventDefault()
  showError(null)
  const id = current.license.id
  try {
    await api('POST', `/api/v1/me/licenses/${encodeURIComponent(id)}/reissue-request`, { reason: $('reissue-reason').value.trim() })
  } catch (e) {
    showError(e)
    return
  }
  $('reissue-reason').value = ''
  await detailView(id)
}

// download saves the signed document of a version (0: the current one) as
// the seal signed it, byte for byte.
function download (version) {
  const l = current.license
  const path = version
    ? `/api/v1/me/licenses/${encodeURIComponent(l.id)}/versions/${version}/document`
    : `/api/v1/me/licenses/${encodeURIComponent(l.id)}/document`
  return save(path, `${l.number || l.id}-v${version || l.version}.json`, 'application/json')
}

// printout saves the printable copy (PDF, with its verification QR code)
// in the page's language.
function printout () {
  const l = current.license
  return save(`/api/v1/me/licenses/${encodeURIComponent(l.id)}/printout?lang=${encodeURIComponent(lang)}`,
    `${l.number || l.id}.pdf`, 'application/pdf')
}

// save fetches path with the session and hands it to the browser as a file.
async function save (path, name, accept) {
  showError(null)
  try {
    const blob = await (await api('GET', path, undefined, accept)).blob()
    const url = URL.createObjectURL(blob)
    const a = document.createElement('a')
    a.href = url
    a.download = name
    document.body.append(a)
    a.click()
    a.remove()
    setTimeout(() => URL.revokeObjectURL(url), 10000)
  } catch (e) {
    showError(e)
  }
}

// ---- showing (亮证) ----

function showView () {
  showError(null)
  view('show')
  renderShow(false)
}

function renderShow (keepPicks) {
  const { license: l, labels, face } = current
  const picked = new Set(keepPicks ? [...document.querySelectorAll('#disclose-fields input:checked')].map((i) => i.value) : [])
  const box = $('disclose-fields')
  box.replaceChildren()
  const keys = labels ? labels.fields.map((f) => f.key) : Object.keys(face)
  for (const k of keys) {
    const f = labels && labels.fields.find((x) => x.key === k)
    const lab = document.createElement('label')
    lab.className = 'pick'
    const cb = document.createElement('input')
    cb.type = 'checkbox'
    cb.value = k
    cb.checked = picked.has(k)
    // The server refuses sensitive fields; the page does not offer them.
    cb.disabled = !!(f && f.sensitivity === 'sensitive')
    const span = document.createElement('span')
    span.textContent = fieldLabel(labels, k, lang) + (cb.disabled ? ' ' + t('show.sensitive') : '')
    lab.append(cb, span)
    box.append(lab)
  }
  $('qr-state').textContent = t('show.state', { state: stateNote(l) })
  $('qr-state').dataset.inForce = String(IN_FORCE.has(l.state))
  if (showing) tick()
}

function picks () {
  return [...document.querySelectorAll('#disclose-fields input:checked')].map((i) => i.value)
}

// present asks for a new code of the current license and shows it.
async function present () {
  const l = current.license
  const disclose = showing ? showing.disclose : picks()
  let p
  try {
    p = await (await api('POST', `/api/v1/me/licenses/${encodeURIComponent(l.id)}/qr`, { disclose, format: 'json-svg' })).json()
  } catch (e) {
    showError(e)
    stopShowing()
    return
  }
  if (document.body.dataset.view !== 'show') return
  showError(null)
  const url = URL.createObjectURL(new Blob([p.svg], { type: 'image/svg+xml' }))
  const img = $('qr')
  const old = showing && showing.url
  img.src = url
  img.alt = t('show.alt')
  // The new code is on screen before the page says it is.
  try { await img.decode() } catch (e) { /* shown as it comes */ }
  img.dataset.payload = p.payload
  img.dataset.nonce = p.nonce
  if (old) URL.revokeObjectURL(old)
  $('qr-box').hidden = false
  if (!showing) $('qr-box').scrollIntoView({ block: 'center' })
  showing = showing || { disclose }
  showing.url = url
  // The code lives expires_at − issued_at on the platform's clock; counted
  // from its arrival on this device's, so that a phone whose clock is off
  // still renews it in time.
  const lifetime = Date.parse(p.expires_at) - Date.parse(p.issued_at)
  showing.expiresAt = Date.now() + lifetime
  showing.renewAt = showing.expiresAt - Math.min(RENEW_BEFORE_MS, lifetime / 4)
  tick()
}

// tick counts down and renews the code before it expires; while the page
// is hidden nothing is asked for (visibilitychange starts it again).
function tick () {
  if (!showing) return
  clearTimeout(showing.timer)
  const now = Date.now()
  const left = Math.max(0, Math.ceil((showing.expiresAt - now) / 1000))
  $('countdown').textContent = t('show.countdown', { n: left })
  $('countdown').dataset.left = String(left)
  if (document.hidden) return
  if (now >= showing.renewAt) {
    showing.renewAt = Infinity // one renewal at a time
    present()
    return
  }
  showing.timer = setTimeout(tick, Math.min(1000, Math.max(50, showing.renewAt - now)))
}

function startShowing () {
  showError(null)
  stopShowing()
  present()
}

function stopShowing () {
  if (!showing) return
  clearTimeout(showing.timer)
  if (showing.url) URL.revokeObjectURL(showing.url)
  showing = null
  $('qr-box').hidden = true
  $('qr').removeAttribute('src')
}

function visibility () {
  if (!showing) return
  if (document.hidden) {
    clearTimeout(showing.timer)
    return
  }
  // Back on screen: a code that expired (or is about to) is renewed at once.
  if (Date.now() >= showing.renewAt) showing.renewAt = 0
  tick()
}

// ---- authorizations (授权用证) ----

// pages reads every page of a listing.
async function pages (path) {
  const items = []
  let cursor = ''
  do {
    const page = await (await api('GET', path + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''))).json()
    items.push(...page.items)
    cursor = page.next_cursor || ''
  } while (cursor)
  return items
}

async function grantsView () {
  showError(null)
  try {
    grants = await pages('/api/v1/me/authorizations?limit=100')
  } catch (e) {
    showError(e)
    return
  }
  // The licenses and grants are named by their types' labels: read them
  // first (saved on the device after the first time; null offline).
  await Promise.all(licenses.map((l) => faceLabels(l.type, l.type_version)))
  view('grants')
  renderGrants(false)
}

function licenseName (id) {
  const l = licenses.find((x) => x.id === id)
  return l ? `${typeName(labelsOf(l), l.type, lang)} ${l.number}` : id
}

// renderGrants lists the authorizations, newest first, and fills the form;
// keep keeps what the form holds (a change of language).
function renderGrants (keep) {
  $('grants-empty').hidden = grants.length > 0
  const ul = $('grant-list')
  ul.replaceChildren()
  for (const g of [...grants].reverse()) {
    const li = document.createElement('li')
    li.dataset.id = g.id
    li.dataset.state = g.state
    li.dataset.matter = g.matter
    const st = document.createElement('span')
    st.className = 'state'
    st.textContent = t('grants.state.' + g.state)
    const what = document.createElement('span')
    what.className = 'what'
    what.textContent = t('grants.entry', { unit: g.org, matter: g.matter, license: licenseName(g.license_id), until: whenTime(g.valid_until) })
    li.append(st, what)
    if (g.fields && g.fields.length) {
      const l = licenses.find((x) => x.id === g.license_id)
      const f = document.createElement('span')
      f.className = 'note'
      f.textContent = t('grants.unmasked', { fields: g.fields.map((k) => fieldLabel(l ? labelsOf(l) : null, k, lang)).join('、') })
      li.append(f)
    }
    if (g.state === 'active') {
      const b = document.createElement('button')
      b.type = 'button'
      b.className = 'withdraw'
      b.textContent = t('grants.withdraw')
      b.addEventListener('click', () => withdrawGrant(g.id))
      li.append(b)
    }
    ul.append(li)
  }
  const sel = $('grant-license')
  const chosen = sel.value
  sel.replaceChildren()
  // Only a license in force is granted.
  for (const l of licenses.filter((x) => IN_FORCE.has(x.state))) {
    const o = document.createElement('option')
    o.value = l.id
    o.textContent = `${typeName(labelsOf(l), l.type, lang)} ${l.number}`
    sel.append(o)
  }
  if (keep && chosen) sel.value = chosen
  licenseChosen(keep)
}

// dateInput is a local date as an <input type=date> holds it.
function dateInput (d) {
  const p = (n) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`
}

// grantEnd is the latest an authorization of l may last: the license's
// end, and no more than MAX_GRANT_DAYS from now.
function grantEnd (l) {
  const most = Date.now() + MAX_GRANT_DAYS * 86400e3 - 60e3
  return new Date(l && l.valid_until ? Math.min(Date.parse(l.valid_until), most) : most)
}

// licenseChosen offers the fields of the chosen license, bounds the date
// by its end and narrows the unit's matters to those needing its type.
async function licenseChosen (keep) {
  const l = licenses.find((x) => x.id === $('grant-license').value)
  $('grant-submit').disabled = !l
  const until = $('grant-until')
  const end = grantEnd(l)
  until.min = dateInput(new Date())
  until.max = dateInput(end)
  if (!keep || !until.value || until.value > until.max) until.value = dateInput(new Date(Math.min(Date.now() + 30 * 86400e3, end.getTime())))
  const picked = new Set(keep ? [...document.querySelectorAll('#grant-fields input:checked')].map((i) => i.value) : [])
  const box = $('grant-fields')
  box.replaceChildren()
  const labels = l ? await faceLabels(l.type, l.type_version) : null
  for (const f of labels ? labels.fields : []) {
    const lab = document.createElement('label')
    lab.className = 'pick'
    const cb = document.createElement('input')
    cb.type = 'checkbox'
    cb.value = f.key
    cb.checked = picked.has(f.key)
    const span = document.createElement('span')
    span.textContent = fieldLabel(labels, f.key, lang)
    lab.append(cb, span)
    box.append(lab)
  }
  $('grant-fields-box').hidden = box.children.length === 0
  renderMatters()
}

// findMatters asks for the approved matters of the unit typed in.
async function findMatters () {
  showError(null)
  const unit = $('grant-unit').value.trim().toUpperCase()
  unitMatters = null
  renderMatters()
  try {
    unitMatters = { unit, items: await pages(`/api/v1/me/units/${encodeURIComponent(unit)}/matters?limit=100`) }
  } catch (e) {
    showError(e)
    return
  }
  renderMatters()
}

// renderMatters offers the unit's matters that need the chosen license's type.
function renderMatters () {
  const l = licenses.find((x) => x.id === $('grant-license').value)
  const sel = $('grant-matter')
  const chosen = sel.value
  sel.replaceChildren()
  const items = unitMatters && l ? unitMatters.items.filter((m) => m.types.includes(l.type)) : []
  for (const m of items) {
    const o = document.createElement('option')
    o.value = m.code
    o.textContent = `${m.name}（${m.code}）`
    sel.append(o)
  }
  if (items.some((m) => m.code === chosen)) sel.value = chosen
  $('grant-matter-row').hidden = items.length === 0
  $('grant-no-matter').hidden = !unitMatters || items.length > 0
}

async function grant (ev) {
  ev.preventDefault()
  showError(null)
  const l = licenses.find((x) => x.id === $('grant-license').value)
  const [y, m, d] = $('grant-until').value.split('-').map(Number)
  // To the end of the day chosen, but no later than the license allows.
  const until = new Date(Math.min(new Date(y, m - 1, d, 23, 59, 59).getTime(), grantEnd(l).getTime()))
  const body = {
    license_id: l ? l.id : '',
    org: unitMatters ? unitMatters.unit : $('grant-unit').value.trim(),
    matter: $('grant-matter').value,
    valid_until: until.toISOString().replace(/\.\d+Z$/, 'Z'),
    fields: [...document.querySelectorAll('#grant-fields input:checked')].map((i) => i.value)
  }
  // One key per authorization: a retried click replays the first answer.
  if (!grantKey) grantKey = globalThis.crypto && crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random()
  try {
    await api('POST', '/api/v1/me/authorizations', body, 'application/json', { 'Idempotency-Key': grantKey })
  } catch (e) {
    showError(e)
    return
  }
  grantKey = ''
  await grantsView()
}

async function withdrawGrant (id) {
  showError(null)
  try {
    await api('POST', `/api/v1/me/authorizations/${encodeURIComponent(id)}/withdraw`)
  } catch (e) {
    showError(e)
    return
  }
  await grantsView()
}

// ---- who used my licenses ----

// actionName is an audit action in words: its own label, or that of the
// lifecycle operation it records (license.suspend), or the action itself.
function actionName (a) {
  for (const key of ['action.' + a, 'op.' + a.replace(/^license\./, '')]) {
    if (t(key) !== key) return t(key)
  }
  return a
}

// auditView lists the audit entries about the holder's licenses and checks
// in this browser that the checkpoint is signed by the key the answer names
// and that each entry is in the tree it signs (shared/tlog.js).
async function auditView () {
  showError(null)
  let page
  try {
    page = await (await api('GET', '/api/v1/me/audit?limit=200')).json()
  } catch (e) {
    showError(e)
    return
  }
  view('audit')
  const status = $('audit-status')
  status.textContent = t('audit.checking')
  delete status.dataset.ok
  const ul = $('audit-entries')
  ul.replaceChildren()
  let cp
  try {
    cp = await verifyCheckpoint(page.checkpoint, page.checkpoint_key)
    if (cp.size !== page.size) throw new Error(`size ${cp.size}, the answer says ${page.size}`)
    status.textContent = t('audit.checkpoint', { size: cp.size, key: page.checkpoint_key.split('+')[0] })
    status.dataset.ok = 'true'
  } catch (e) {
    status.textContent = t('audit.checkpoint.bad', { reason: e.message })
    status.dataset.ok = 'false'
  }
  if (page.items.length === 0) {
    const li = document.createElement('li')
    li.textContent = t('audit.empty')
    ul.append(li)
  }
  // Every entry is listed first, then checked; each says how it fared.
  const checks = page.items.map((it) => {
    const e = it.entry
    const li = document.createElement('li')
    li.dataset.index = String(e.index)
    li.dataset.action = e.action
    const l = licenses.find((x) => x.id === e.subject)
    const head = document.createElement('span')
    head.textContent = t('audit.entry', { at: whenTime(e.at), action: actionName(e.action), actor: e.actor }) +
      (l ? ` · ${typeName(labelsOf(l), l.type, lang)} ${l.number}` : '') +
      (e.details && e.details.unit ? ' · ' + t('audit.unit', { unit: e.details.unit }) : '') +
      (e.details && e.details.matter ? ' · ' + t('audit.matter', { matter: e.details.matter }) : '')
    const proof = document.createElement('span')
    proof.className = 'proof'
    li.append(head, document.createElement('br'), proof)
    ul.append(li)
    return { it, li, proof }
  })
  for (const { it, li, proof } of checks) {
    let ok = false
    try {
      ok = !!cp && await verifyInclusion(base64Bytes(it.leaf), it.entry.index, cp.size, it.proof, cp.root)
    } catch (err) { /* a malformed proof is a failed one */ }
    li.dataset.proof = ok ? 'ok' : 'bad'
    proof.textContent = t(ok ? 'audit.proof.ok' : 'audit.proof.bad')
  }
}

// ---- wiring ----

$('lang-zh').addEventListener('click', () => setLang('zh-CN'))
$('lang-en').addEventListener('click', () => setLang('en'))
$('demo-kind').addEventListener('change', demoKind)
$('demo').addEventListener('submit', demoLogin)
$('logout').addEventListener('click', logout)
$('back').addEventListener('click', () => listView())
$('to-show').addEventListener('click', showView)
$('show-back').addEventListener('click', () => { view('detail'); renderDetail() })
$('show-start').addEventListener('click', startShowing)
$('download').addEventListener('click', () => download(0))
$('printout').addEventListener('click', printout)
$('to-audit').addEventListener('click', auditView)
$('audit-back').addEventListener('click', () => listView())
$('to-grants').addEventListener('click', grantsView)
$('grants-back').addEventListener('click', () => listView())
$('grant-license').addEventListener('change', () => licenseChosen(true))
$('grant-find').addEventListener('click', findMatters)
$('grant-unit').addEventListener('change', () => { unitMatters = null; renderMatters() })
$('grant-form').addEventListener('input', () => { grantKey = '' })
$('grant-form').addEventListener('submit', grant)
$('report-lost').addEventListener('click', () => { $('lost-form').hidden = false; renderLoss(); $('lost-reason').focus() })
$('lost-cancel').addEventListener('click', () => { $('lost-form').hidden = true; renderLoss() })
$('lost-form').addEventListener('submit', reportLost)
$('reissue-form').addEventListener('submit', requestReissue)
document.addEventListener('visibilitychange', visibility)

fromFragment()
applyLang()
if (session) listView()
else signInView()
