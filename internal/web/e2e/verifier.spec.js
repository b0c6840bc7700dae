// The verifier page (internal/web/static/verify) in Chromium: every case
// the Go test made, the verdict and its checks as shown, zh-CN and en,
// and offline. Each verdict is written to $ZZ_VERDICTS/NAME.json for the
// Go test to compare with verify.Presentation.
const { test, expect } = require('@playwright/test')
const fs = require('fs')
const path = require('path')

const payloads = { ...JSON.parse(process.env.ZZ_PAYLOADS || '{}'), ...JSON.parse(process.env.ZZ_ES256_PAYLOADS || '{}') }
const shots = process.env.ZZ_SHOTS
const verdicts = process.env.ZZ_VERDICTS

test.beforeAll(() => {
  for (const k of ['ZZ_BASE_URL', 'ZZ_PAYLOADS', 'ZZ_ES256_URL', 'ZZ_ES256_PAYLOADS', 'ZZ_SHOTS', 'ZZ_VERDICTS']) {
    if (!process.env[k]) throw new Error(`${k} is not set: run through TestVerifierPage`)
  }
})

// open loads the page and waits for a fresh trust bundle.
async function open (page, query = '', base = '') {
  const errors = []
  page.on('pageerror', (e) => errors.push(e.message))
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()) })
  await page.goto(base + '/verify/' + query)
  await expect(page.locator('#trust-state')).toHaveAttribute('data-state', 'ready')
  return errors
}

// verify pastes a payload, verifies it and returns the verdict shown.
async function verify (page, name, shot = name) {
  const result = page.locator('#result')
  // The verdict of this payload, not the one before.
  await result.evaluate((r) => r.removeAttribute('data-verdict'))
  await page.locator('#payload').fill(payloads[name])
  await page.locator('#verify').click()
  await expect(result).toBeVisible()
  await expect(result).toHaveAttribute('data-verdict', /"checks"/)
  const v = JSON.parse(await result.getAttribute('data-verdict'))
  fs.writeFileSync(path.join(verdicts, `${name}.json`), JSON.stringify(v))
  await page.screenshot({ path: path.join(shots, `${shot}.png`), fullPage: true })
  return v
}

const check = (page, name) => page.locator(`#checks li[data-check="${name}"]`)

test('zh-CN: valid, tampered, malformed, revoked and expired payloads', async ({ page }) => {
  const errors = await open(page)
  await expect(page.locator('html')).toHaveAttribute('lang', 'zh-CN')
  await expect(page.locator('h1')).toHaveText('电子证照亮码核验')

  let v = await verify(page, 'valid')
  expect(v.valid).toBe(true)
  expect(v.checks.map((c) => c.name)).toEqual(['format', 'key', 'signature', 'expiry', 'status'])
  await expect(page.locator('#verdict')).toHaveText('✓ 有效')
  for (const c of v.checks) await expect(check(page, c.name)).toHaveAttribute('data-ok', 'true')
  await expect(page.locator('#presented')).toBeVisible()
  await expect(page.locator('tr[data-claim="holder"] td')).toHaveText(/^王\*+$/)
  await expect(page.locator('tr[data-field="issuing_authority"]')).toBeVisible()
  await expect(page.locator('tr[data-field="residence_address"]')).toBeVisible()
  // Named by the template's label, from the public catalog.
  await expect(page.locator('tr[data-field="issuing_authority"] th')).toHaveText('签发机关')
  await expect(page.locator('#trust-state')).toContainText('信任包生成于')

  v = await verify(page, 'tampered')
  expect(v.valid).toBe(false)
  await expect(check(page, 'signature')).toHaveAttribute('data-code', 'bad-signature')
  await expect(check(page, 'signature')).toContainText('签名验证失败')
  await expect(page.locator('#presented')).toBeHidden()

  v = await verify(page, 'foreign')
  await expect(check(page, 'key')).toHaveAttribute('data-code', 'unknown-key')
  await expect(check(page, 'key')).toContainText('信任包中没有密钥')
  expect(v.checks).toHaveLength(2)

  v = await verify(page, 'prefix')
  await expect(check(page, 'format')).toHaveAttribute('data-code', 'prefix')
  await expect(check(page, 'format')).toContainText('不是 ZZ1 码')
  expect(v.checks).toHaveLength(1)

  v = await verify(page, 'truncate')
  await expect(check(page, 'format')).toHaveAttribute('data-code', 'encoding')
  await expect(check(page, 'format')).toContainText('码内容残缺或损坏')

  v = await verify(page, 'revoked')
  expect(v.valid).toBe(false)
  await expect(check(page, 'signature')).toHaveAttribute('data-ok', 'true')
  await expect(check(page, 'status')).toHaveAttribute('data-code', 'revoked')
  await expect(check(page, 'status')).toContainText('证照已吊销')
  await expect(page.locator('#verdict')).toHaveText('✗ 无效')
  await expect(page.locator('#presented-note')).toContainText('不能作为依据')

  v = await verify(page, 'expired')
  expect(v.valid).toBe(false)
  await expect(check(page, 'expiry')).toHaveAttribute('data-code', 'expired')
  await expect(check(page, 'expiry')).toContainText('码已过期')
  await expect(check(page, 'status')).toHaveAttribute('data-ok', 'true')
  expect(errors).toEqual([])
})

test('malformed inputs: each refused by the format check', async ({ page }) => {
  await open(page)
  for (const name of Object.keys(payloads).filter((n) => n.startsWith('bad-'))) {
    const v = await verify(page, name)
    expect(v.valid).toBe(false)
    expect(v.checks.map((c) => c.name)).toEqual(['format'])
    await expect(check(page, 'format')).toHaveAttribute('data-ok', 'false')
  }
})

test('stale: status lists older than 24 hours make the status unknown', async ({ page }) => {
  await page.clock.install({ time: Date.now() + Number(process.env.ZZ_STALE_AHEAD_MS) })
  await page.goto('/verify/')
  await expect(page.locator('#trust-state')).toHaveAttribute('data-state', 'stale')
  await expect(page.locator('#trust-state')).toContainText('状态列表已超过 24 小时')
  const v = await verify(page, 'stale')
  expect(v.valid).toBe(false)
  await expect(check(page, 'signature')).toHaveAttribute('data-ok', 'true')
  await expect(check(page, 'status')).toHaveAttribute('data-code', 'status-stale')
  await expect(check(page, 'status')).toHaveAttribute('data-unknown', 'true')
})

test('en: the switch, kept across a reload', async ({ page }) => {
  await open(page)
  await page.locator('#lang-en').click()
  await expect(page.locator('html')).toHaveAttribute('lang', 'en')
  await expect(page.locator('h1')).toHaveText('Verify an e-license QR code')
  await verify(page, 'valid', 'valid-en')
  await expect(page.locator('#verdict')).toHaveText('✓ Valid')
  await expect(check(page, 'status')).toContainText('neither revoked nor suspended')
  await expect(page.locator('#trust-state')).toContainText('Trust bundle built')
  await page.reload()
  await expect(page.locator('h1')).toHaveText('Verify an e-license QR code')
  await page.locator('#payload').fill(payloads.revoked)
  await page.locator('#verify').click()
  await expect(check(page, 'status')).toContainText('the license is revoked')
  await page.screenshot({ path: path.join(shots, 'revoked-en.png'), fullPage: true })
})

test('offline: the page reloads from the service worker and verifies with the saved bundle', async ({ page, context }) => {
  await open(page)
  await page.evaluate(() => navigator.serviceWorker.ready)
  await page.reload() // now controlled by the worker, which has cached every file
  await expect(page.locator('#trust-state')).toHaveAttribute('data-state', 'ready')
  await context.setOffline(true)
  await page.reload()
  await expect(page.locator('#network-state')).toHaveText('离线：使用本机保存的信任包核验。')
  await expect(page.locator('#trust-state')).toHaveAttribute('data-state', 'ready')
  await expect(page.locator('#trust-state')).toContainText('本机保存于')
  const v = await verify(page, 'offline')
  expect(v.valid).toBe(true)
  await expect(page.locator('#verdict')).toHaveText('✓ 有效')
  await page.screenshot({ path: path.join(shots, 'offline.png'), fullPage: true })
  await context.setOffline(false)
})

test('a picture and the camera: the QR code is read and verified', async ({ page }) => {
  await open(page)
  await page.locator('#image').setInputFiles(process.env.ZZ_QR_PNG)
  await expect(page.locator('#result')).toHaveAttribute('data-valid', 'true')
  expect(await page.locator('#payload').inputValue()).toBe(payloads.valid)

  await page.locator('#payload').fill('')
  await page.locator('#result').evaluate((r) => r.removeAttribute('data-valid'))
  await page.locator('#camera').click()
  await expect(page.locator('#result')).toHaveAttribute('data-valid', 'true', { timeout: 20000 })
  expect(await page.locator('#payload').inputValue()).toBe(payloads.valid)
  await expect(page.locator('#scanner')).toBeHidden() // the camera is stopped once a code is read
  await page.screenshot({ path: path.join(shots, 'camera.png'), fullPage: true })
})

test('ES256: a platform whose presentation key is ECDSA P-256 (WebCrypto)', async ({ page }) => {
  await open(page, '', process.env.ZZ_ES256_URL)
  let v = await verify(page, 'es256')
  expect(v.valid).toBe(true)
  await expect(check(page, 'key')).toHaveAttribute('data-ok', 'true')
  await expect(page.locator('tr[data-field="issuing_authority"]')).toBeVisible()
  v = await verify(page, 'es256-tampered')
  await expect(check(page, 'signature')).toHaveAttribute('data-code', 'bad-signature')
})
