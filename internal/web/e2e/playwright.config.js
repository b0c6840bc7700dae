// Run by TestVerifierPage (internal/server), which starts a real server and
// passes its URL and fresh payloads in ZZ_* variables. Debian's Chromium,
// never a downloaded browser.
const { defineConfig } = require('@playwright/test')

module.exports = defineConfig({
  testDir: '.',
  testMatch: '*.spec.js',
  timeout: 60000,
  workers: 1,
  fullyParallel: false,
  retries: 0,
  outputDir: process.env.ZZ_SHOTS ? `${process.env.ZZ_SHOTS}/results` : 'test-results',
  use: {
    baseURL: process.env.ZZ_BASE_URL,
    launchOptions: { executablePath: process.env.ZZ_CHROMIUM || '/usr/bin/chromium', args: [
      '--no-sandbox',
      // The camera is Chromium's fake one, playing the QR code the Go test drew.
      '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
      ...(process.env.ZZ_QR_Y4M ? [`--use-file-for-fake-video-capture=${process.env.ZZ_QR_Y4M}`] : [])
    ] },
    permissions: ['camera'],
    viewport: { width: 800, height: 1000 },
    serviceWorkers: 'allow'
  }
})
