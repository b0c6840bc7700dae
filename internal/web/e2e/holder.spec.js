// The holder page (internal/web/static/holder) in Chromium, against a real
// server with licenses issued to a demo holder: sign in, list, detail,
// download, show the dynamic QR code and its renewal, another holder,
// zh-CN and en, a phone and a desktop viewport, logout. The QR codes shown
// are saved as pictures in $ZZ_OUT for the Go test to decode and verify.
const { test, expect } = require('@playwright/test')
const fs = require('fs')
const path = require('path')

const env = (k) => {
  if (!process.env[k]) throw new Error(`${k} is not set: run through TestHolderPage`)
  return process.env[k]
}
const shots = () => env('ZZ_SHOTS')
const out = () => env('ZZ_OUT')
const holder = () => JSON.parse(env('ZZ_HOLDER')) // {citizen_id, name, licenses: [id…], suspended: id}
const other = () => JSON.parse(env('ZZ_OTHER')) // {citizen_id, name, licenses: [id]}
const unit = () => JSON.parse(env('ZZ_UNIT')) // {code, matter, name}: a using unit and its approved matter needing the permit

// A phone (390×844 CSS pixels at 3 device pixels each) and a desktop.
const phone = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true }
const desktop = { viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 }

async function open (page, query = '') {
  const errors = []
  page.on('pageerror', (e) => errors.push(e.message))
  page.on('console', (m) => { if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) errors.push(m.text()) })
  await page.goto('/holder/' + query)
  return errors
}

async function demoLogin (page, who) {
  await expect(page.locator('#demo')).toBeVisible()
  await page.locator('#demo-kind').selectOption('person')
  await page.locator('#demo-id').fill(who.citizen_id)
  await page.locator('#demo-name').fill(who.name)
  await page.locator('#demo button[type=submit]').click()
  await expect(page.locator('#list')).toBeVisible()
}

const shot = (page, name) => page.screenshot({ path: path.join(shots(), `holder-${name}.png`), fullPage: true })

test.describe('on a phone', () => {
test.use(phone)

test('zh-CN on a phone: sign in, list, detail, download, show and renew the QR code, logout', async ({ page }) => {
  await page.clock.install()
  const me = holder()
  const errors = await open(page)
  await expect(page.locator('html')).toHaveAttribute('lang', 'zh-CN')
  await expect(page.locator('h1')).toHaveText('我的电子证照')
  // The platform offers the demo login and no identity provider.
  await expect(page.locator('#oidc')).toBeHidden()
  await shot(page, 'signin')
  await demoLogin(page, me)
  await expect(page.locator('#who')).toHaveText(`当前登录：${me.name}`)

  // The list: exactly the holder's licenses, with type name, number, state, validity.
  const items = page.locator('#licenses li')
  await expect(items).toHaveCount(me.licenses.length)
  expect((await items.evaluateAll((els) => els.map((e) => e.dataset.id))).sort()).toEqual([...me.licenses].sort())
  const first = page.locator(`#licenses li[data-id="${me.licenses[0]}"]`)
  await expect(first.locator('.type')).toHaveText('居住证')
  await expect(first.locator('.state')).toHaveText('有效')
  await expect(first.locator('.validity')).toContainText('至')
  await expect(page.locator(`#licenses li[data-id="${me.suspended}"] .state`)).toHaveText('已中止（不在有效状态）')
  await shot(page, 'list')

  // A license that is not in force says so.
  await page.locator(`#licenses li[data-id="${me.suspended}"] button`).click()
  await expect(page.locator('#detail-warning')).toBeVisible()
  await expect(page.locator('#detail-warning')).toContainText('已中止')
  await expect(page.locator('#to-show')).toBeDisabled()
  await expect(page.locator('#printout')).toBeDisabled()
  await page.locator('#back').click()

  // The detail: state, face fields by their labels, versions; the download.
  await first.locator('button').click()
  await expect(page.locator('#detail')).toBeVisible()
  await expect(page.locator('#detail-warning')).toBeHidden()
  await expect(page.locator('#to-show')).toBeEnabled()
  await expect(page.locator('#detail-rows tr[data-key="state"] td')).toHaveText('有效')
  await expect(page.locator('#face-rows tr[data-key="issuing_authority"] th')).toHaveText('签发机关')
  await expect(page.locator('#versions button[data-version="1"]')).toBeVisible()
  await shot(page, 'detail')
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#download').click()])
  const doc = JSON.parse(fs.readFileSync(await download.path(), 'utf8'))
  expect(doc.license.id).toBe(me.licenses[0])
  expect(typeof doc.signature).toBe('string')
  const [pdf] = await Promise.all([page.waitForEvent('download'), page.locator('#printout').click()])
  expect(fs.readFileSync(await pdf.path()).subarray(0, 5).toString()).toBe('%PDF-')
  expect(pdf.suggestedFilename()).toMatch(/\.pdf$/)

  // Show: a sensitive field is not offered; forced, the server refuses it and the page says why.
  await page.locator('#to-show').click()
  await expect(page.locator('#show')).toBeVisible()
  const sensitive = page.locator('#disclose-fields input[value="citizen_id"]')
  await expect(sensitive).toBeDisabled()
  await sensitive.evaluate((el) => { el.disabled = false; el.checked = true })
  await page.locator('#show-start').click()
  await expect(page.locator('#error')).toHaveAttribute('data-rules', /sensitive/)
  await sensitive.evaluate((el) => { el.checked = false })

  // The QR code, with its countdown and the license state next to it.
  const qrRequests = []
  page.on('request', (r) => { if (r.method() === 'POST' && r.url().endsWith('/qr')) qrRequests.push(r) })
  await page.locator('#disclose-fields input[value="issuing_authority"]').check()
  await page.locator('#disclose-fields input[value="residence_address"]').check()
  await page.locator('#show-start').click()
  const qr = page.locator('#qr')
  await expect(qr).toHaveAttribute('data-payload', /^ZZ1:/)
  await expect(page.locator('#error')).toHaveText('')
  await expect(page.locator('#qr-state')).toHaveText('证照状态：有效')
  await expect(page.locator('#countdown')).toContainText('秒后更新')
  const first1 = await qr.getAttribute('data-payload')
  await qr.screenshot({ path: path.join(out(), 'qr-1.png') })
  fs.writeFileSync(path.join(out(), 'qr-1.txt'), first1)
  await shot(page, 'show')
  expect(qrRequests.length).toBe(1)

  // A few seconds before it expires, the page asks for a new one by itself.
  await page.clock.fastForward(56000)
  await expect(qr).not.toHaveAttribute('data-payload', first1)
  const second = await qr.getAttribute('data-payload')
  await expect(page.locator('#countdown')).toHaveAttribute('data-left', /^(5\d|60)$/)
  await qr.screenshot({ path: path.join(out(), 'qr-2.png') })
  fs.writeFileSync(path.join(out(), 'qr-2.txt'), second)
  expect(qrRequests.length).toBe(2)

  // Hidden, the page asks for nothing; shown again, it renews the expired code at once.
  await page.evaluate(() => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => true })
    document.dispatchEvent(new Event('visibilitychange'))
  })
  await page.clock.fastForward(180000)
  expect(qrRequests.length).toBe(2)
  await page.evaluate(() => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => false })
    document.dispatchEvent(new Event('visibilitychange'))
  })
  await expect(qr).not.toHaveAttribute('data-payload', second)
  expect(qrRequests.length).toBe(3)

  // Logout: the session ends on the server and leaves this tab.
  const token = await page.evaluate(() => JSON.parse(sessionStorage.getItem('zhengzhao.holder.session')).token)
  await page.locator('#logout').click()
  await expect(page.locator('#signin')).toBeVisible()
  expect(await page.evaluate(() => sessionStorage.getItem('zhengzhao.holder.session'))).toBeNull()
  const r = await page.request.get('/api/v1/me/licenses', { headers: { Authorization: 'Bearer ' + token } })
  expect(r.status()).toBe(401)
  expect(errors).toEqual([])
})

test('zh-CN on a phone: grant a using unit the use of a license for one of its matters, and withdraw it', async ({ page }) => {
  const me = holder()
  const u = unit()
  const errors = await open(page)
  await demoLogin(page, me)
  await page.locator('#to-grants').click()
  await expect(page.locator('#grants')).toBeVisible()
  await expect(page.locator('#grants h2')).toHaveText('授权用证')
  await expect(page.locator('#grants-empty')).toBeVisible()
  // Only the license in force is offered.
  const licenseOptions = page.locator('#grant-license option')
  await expect(licenseOptions).toHaveCount(1)
  expect(await licenseOptions.first().getAttribute('value')).toBe(me.licenses[0])
  await expect(licenseOptions.first()).toContainText('居住证')
  // The date is bounded by the license's end and the longest term.
  expect(await page.locator('#grant-until').getAttribute('max')).toMatch(/^\d{4}-\d{2}-\d{2}$/)

  // A unit that is no using unit has no matters to offer: the platform says 404.
  await page.locator('#grant-unit').fill('91350100M000100Y43')
  await page.locator('#grant-find').click()
  await expect(page.locator('#error')).toHaveAttribute('data-status', '404')
  await expect(page.locator('#grant-matter-row')).toBeHidden()

  // The unit's approved matters that need the permit.
  await page.locator('#grant-unit').fill(u.code.toLowerCase())
  await page.locator('#grant-find').click()
  await expect(page.locator('#grant-matter-row')).toBeVisible()
  await expect(page.locator('#error')).toHaveText('')
  await expect(page.locator('#grant-matter option')).toHaveCount(1)
  await expect(page.locator('#grant-matter option').first()).toHaveText(`${u.name}（${u.matter}）`)
  await page.locator('#grant-fields input[value="name"]').check()
  await shot(page, 'grant-form')
  await page.locator('#grant-submit').click()
  const granted = page.locator('#grant-list li')
  await expect(granted).toHaveCount(1)
  await expect(granted.first()).toHaveAttribute('data-state', 'active')
  await expect(granted.first()).toHaveAttribute('data-matter', u.matter)
  await expect(granted.first().locator('.state')).toHaveText('有效')
  await expect(granted.first()).toContainText(u.code)
  await expect(granted.first()).toContainText('不打码：姓名')
  await expect(page.locator('#grants-empty')).toBeHidden()
  await shot(page, 'grants')

  // Withdrawn at once; the list says so and offers no second withdrawal.
  await granted.first().locator('button.withdraw').click()
  await expect(granted.first()).toHaveAttribute('data-state', 'withdrawn')
  await expect(granted.first().locator('.state')).toHaveText('已撤回')
  await expect(granted.first().locator('button.withdraw')).toHaveCount(0)
  // In English too.
  await page.locator('#lang-en').click()
  await expect(page.locator('#grants h2')).toHaveText('Authorizations')
  await expect(granted.first().locator('.state')).toHaveText('Withdrawn')
  await expect(page.locator('#grant-find')).toHaveText('Find the unit\'s matters')
  await shot(page, 'grants-en')
  await page.locator('#lang-zh').click()
  await page.locator('#logout').click()
  await expect(page.locator('#signin')).toBeVisible()
  expect(errors).toEqual([])
})

})

test.describe('on a desktop', () => {
test.use(desktop)

test('en on a desktop: another holder sees only its own license', async ({ page }) => {
  const them = other()
  const errors = await open(page)
  await page.locator('#lang-en').click()
  await expect(page.locator('html')).toHaveAttribute('lang', 'en')
  await expect(page.locator('h1')).toHaveText('My e-licenses')
  await demoLogin(page, them)
  const items = page.locator('#licenses li')
  await expect(items).toHaveCount(them.licenses.length)
  expect(await items.evaluateAll((els) => els.map((e) => e.dataset.id))).toEqual(them.licenses)
  await expect(items.first().locator('.type')).toHaveText('Residence permit')
  await expect(items.first().locator('.state')).toHaveText('in force')
  // The first holder's license is not there, and asked for directly, answers 404.
  const token = await page.evaluate(() => JSON.parse(sessionStorage.getItem('zhengzhao.holder.session')).token)
  const r = await page.request.get('/api/v1/me/licenses/' + holder().licenses[0], { headers: { Authorization: 'Bearer ' + token } })
  expect(r.status()).toBe(404)
  await items.first().locator('button').click()
  await expect(page.locator('#face-rows tr[data-key="issuing_authority"] th')).toHaveText('Issuing authority')
  await expect(page.locator('#detail-rows tr[data-key="state"] td')).toHaveText('in force')
  await shot(page, 'en-desktop')
  // The choice of language is kept: a reload stays in English, signed in (this tab's session).
  await page.reload()
  await expect(page.locator('h1')).toHaveText('My e-licenses')
  await expect(page.locator('#list')).toBeVisible()
  await page.locator('#logout').click()
  await expect(page.locator('#signin')).toBeVisible()
  expect(errors).toEqual([])
})

test('the session from the sign-in callback is taken from the fragment', async ({ page }) => {
  const r = await page.request.post('/api/v1/holder/demo-login', { data: { citizen_id: holder().citizen_id, name: holder().name } })
  expect(r.status()).toBe(201)
  const s = await r.json()
  const errors = await open(page, '#session=' + encodeURIComponent(s.token) + '&expires_at=' + encodeURIComponent(s.expires_at))
  await expect(page.locator('#list')).toBeVisible()
  await expect(page.locator('#licenses li')).toHaveCount(holder().licenses.length)
  // The secret does not stay in the address bar or the history; who signed in comes from the session.
  expect(page.url()).not.toContain('session=')
  await expect(page.locator('#who')).toHaveText(`当前登录：${holder().name}`)
  await page.locator('#logout').click()
  await expect(page.locator('#signin')).toBeVisible()
  expect(errors).toEqual([])
})

test('sign-in through the identity provider, on a platform that has one', async ({ page }) => {
  const base = env('ZZ_OIDC_URL')
  const errors = []
  page.on('pageerror', (e) => errors.push(e.message))
  await page.goto(base + '/holder/')
  await expect(page.locator('#oidc')).toBeVisible()
  await expect(page.locator('#demo')).toBeHidden()
  // To the provider, which signs the queued person in, and back through the callback.
  await page.locator('#oidc').click()
  await expect(page.locator('#list')).toBeVisible()
  await expect(page.locator('#licenses li')).toHaveCount(holder().licenses.length)
  expect(page.url()).toBe(base + '/holder/')
  await page.locator('#logout').click()
  await expect(page.locator('#signin')).toBeVisible()
  expect(errors).toEqual([])
})

test('who used my licenses: every entry checked in the browser against the signed checkpoint', async ({ page }) => {
  const me = holder()
  const errors = await open(page)
  await demoLogin(page, me)
  await page.locator('#to-audit').click()
  await expect(page.locator('#audit')).toBeVisible()
  await expect(page.locator('#audit-status')).toHaveAttribute('data-ok', 'true')
  const entries = page.locator('#audit-entries li')
  const unchecked = page.locator('#audit-entries li:not([data-proof])')
  await expect(entries.first()).toBeVisible()
  await expect(unchecked).toHaveCount(0)
  const n = await entries.count()
  expect(n).toBeGreaterThan(me.licenses.length)
  await expect(page.locator('#audit-entries li[data-proof="ok"]')).toHaveCount(n)
  await expect(page.locator('#audit-entries li[data-action="license.issued"]')).toHaveCount(me.licenses.length)
  await expect(page.locator('#audit-entries li[data-action="license.issued"]').first()).toContainText('签发')
  await shot(page, 'audit')

  // An entry changed on the way is caught, and so is a checkpoint signed by another key.
  await page.route('**/api/v1/me/audit*', async (route) => {
    const r = await route.fetch()
    const body = await r.json()
    const leaf = atob(body.items[0].leaf)
    body.items[0].leaf = btoa(leaf.replace('license', 'licensf'))
    await route.fulfill({ response: r, json: body })
  })
  await page.locator('#audit-back').click()
  await page.locator('#to-audit').click()
  await expect(entries.first()).toBeVisible()
  await expect(unchecked).toHaveCount(0)
  await expect(entries.first()).toHaveAttribute('data-proof', 'bad')
  await expect(page.locator('#audit-entries li[data-proof="bad"]')).toHaveCount(1)
  await page.unroute('**/api/v1/me/audit*')
  await page.route('**/api/v1/me/audit*', async (route) => {
    const r = await route.fetch()
    const body = await r.json()
    body.checkpoint = body.checkpoint.replace(/\n([0-9]+)\n/, (m, size) => `\n${Number(size) + 1}\n`)
    await route.fulfill({ response: r, json: body })
  })
  await page.locator('#audit-back').click()
  await page.locator('#to-audit').click()
  await expect(page.locator('#audit-status')).toHaveAttribute('data-ok', 'false')
  await expect(unchecked).toHaveCount(0)
  await expect(page.locator('#audit-entries li[data-proof="ok"]')).toHaveCount(0)
  await page.unroute('**/api/v1/me/audit*')
  await page.locator('#audit-back').click()
  await page.locator('#logout').click()
  expect(errors).toEqual([])
})

test('a holder reports a license lost and asks for its reissue; the notices say so', async ({ page }) => {
  const them = other()
  const id = them.licenses[0]
  const errors = await open(page)
  await demoLogin(page, them)
  // The notices: the issuance of its one license.
  const notices = page.locator('#inbox li')
  await expect(notices).toHaveCount(1)
  await expect(notices.first()).toHaveAttribute('data-operation', 'issue')
  await expect(notices.first()).toContainText('居住证')
  await page.locator(`#licenses li[data-id="${id}"] button`).click()
  await expect(page.locator('#reissue-form')).toBeHidden()
  await expect(page.locator('#lost-form')).toBeHidden()
  await page.locator('#report-lost').click()
  await expect(page.locator('#lost-form')).toBeVisible()
  await page.locator('#lost-reason').fill('钱包丢失')
  await shot(page, 'loss-form')
  await page.locator('#lost-form button[type=submit]').click()
  // At once: not in force, no code, no printed copy; the reissue may be asked for.
  await expect(page.locator('#detail-rows tr[data-key="state"] td')).toHaveText('已挂失（不在有效状态）')
  await expect(page.locator('#detail-warning')).toContainText('已挂失')
  await expect(page.locator('#to-show')).toBeDisabled()
  await expect(page.locator('#report-lost')).toBeHidden()
  const token = await page.evaluate(() => JSON.parse(sessionStorage.getItem('zhengzhao.holder.session')).token)
  const qr = await page.request.post(`/api/v1/me/licenses/${id}/qr`, { headers: { Authorization: 'Bearer ' + token }, data: {} })
  expect(qr.status()).toBe(409)
  await page.locator('#reissue-reason').fill('请补办')
  await page.locator('#reissue-form button[type=submit]').click()
  await expect(page.locator('#reissue-requests li')).toHaveCount(1)
  await expect(page.locator('#reissue-requests li')).toHaveAttribute('data-state', 'open')
  await expect(page.locator('#reissue-requests li')).toContainText('待办理')
  await expect(page.locator('#reissue-form')).toBeHidden()
  await shot(page, 'loss-reissue')
  // The platform refuses a second open request.
  const again = await page.request.post(`/api/v1/me/licenses/${id}/reissue-request`, { headers: { Authorization: 'Bearer ' + token }, data: {} })
  expect(again.status()).toBe(409)
  // Back at the list: the newest notice is the loss report.
  await page.locator('#back').click()
  await expect(notices).toHaveCount(2)
  await expect(notices.first()).toHaveAttribute('data-operation', 'report-lost')
  await expect(notices.first()).toContainText('挂失')
  await shot(page, 'inbox')
  await page.locator('#logout').click()
  await expect(page.locator('#signin')).toBeVisible()
  expect(errors).toEqual([])
})
})
