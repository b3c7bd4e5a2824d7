// The service worker: keeps the app shell (html, js, css, wasm) so that the till opens with
// no network. The build writes the shell's file list into SHELL. Same-origin GETs are served
// from the cache first (the files are content-hashed, index.html aside, which is refreshed
// in the background); gRPC-Web calls are POSTs and never touch the cache.
const SHELL = self.__SHELL__;
const CACHE = `dcs-till-${self.__VERSION__}`;

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== location.origin) return;
  const key = req.mode === 'navigate' ? './' : req;
  event.respondWith(caches.open(CACHE).then(async (cache) => {
    // ignoreVary: the daemon's CORS layer answers `Vary: Origin`, and a module script's request
    // carries an Origin the precache request did not.
    const hit = await cache.match(key, { ignoreVary: true, ignoreSearch: req.mode === 'navigate' });
    const fresh = fetch(req).then((res) => {
      if (res.ok && req.mode === 'navigate') void cache.put('./', res.clone());
      return res;
    });
    if (hit) {
      fresh.catch(() => {});
      return hit;
    }
    return fresh;
  }));
});
