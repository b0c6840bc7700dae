// The verifier page's service worker: it keeps the page and everything it
// loads in a cache, so that the page opens and verifies with no network.
// Online, every file is fetched first (the server revalidates it by its
// ETag) and the cache updated; offline, the cache answers. The trust bundle
// is not its business: the page keeps it in localStorage with its time.
const CACHE = 'zhengzhao-verify-v2'
const ASSETS = [
  '/verify/',
  '/verify/app.js',
  '/verify/strings.js',
  '/verify/style.css',
  '/web/shared/zzverify.js',
  '/web/shared/labels.js',
  '/web/shared/i18n.js',
  '/web/vendor/sm-crypto-0.5.8/sm2.js',
  '/web/vendor/jsqr-1.4.0/jsQR.js',
  '/web/vendor/cborg-6.1.5/cborg.js',
  '/web/vendor/cborg-6.1.5/lib/0uint.js',
  '/web/vendor/cborg-6.1.5/lib/1negint.js',
  '/web/vendor/cborg-6.1.5/lib/2bytes.js',
  '/web/vendor/cborg-6.1.5/lib/3string.js',
  '/web/vendor/cborg-6.1.5/lib/4array.js',
  '/web/vendor/cborg-6.1.5/lib/5map.js',
  '/web/vendor/cborg-6.1.5/lib/6tag.js',
  '/web/vendor/cborg-6.1.5/lib/7float.js',
  '/web/vendor/cborg-6.1.5/lib/bl.js',
  '/web/vendor/cborg-6.1.5/lib/byte-utils.js',
  '/web/vendor/cborg-6.1.5/lib/common.js',
  '/web/vendor/cborg-6.1.5/lib/decode.js',
  '/web/vendor/cborg-6.1.5/lib/encode.js',
  '/web/vendor/cborg-6.1.5/lib/is.js',
  '/web/vendor/cborg-6.1.5/lib/jump.js',
  '/web/vendor/cborg-6.1.5/lib/length.js',
  '/web/vendor/cborg-6.1.5/lib/tagged.js',
  '/web/vendor/cborg-6.1.5/lib/token.js'
]

self.addEventListener('install', (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(ASSETS)).then(() => self.skipWaiting()))
})

self.addEventListener('activate', (e) => {
  e.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()))
})

self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url)
  if (e.request.method !== 'GET' || url.origin !== location.origin) return
  if (!url.pathname.startsWith('/verify/') && !url.pathname.startsWith('/web/')) return
  const key = url.pathname // ?lang=en is the same page
  e.respondWith((async () => {
    const cache = await caches.open(CACHE)
    try {
      const r = await fetch(e.request)
      if (r.ok) await cache.put(key, r.clone())
      return r
    } catch (err) {
      const hit = await cache.match(key)
      if (hit) return hit
      throw err
    }
  })())
})
