// Accord service worker: keeps the app shell so the app opens at once, with
// or without a network.
//
// Each build has its own cache (`xtask web` writes the build's hash into
// VERSION and the hashed asset names, chunks included, into SHELL), so a page and the code it
// loads always come from the same build. The shell is served cache-first: a
// slow or hanging network never delays a start. The browser checks this file
// for changes in the background; a changed worker installs its build's shell
// beside the old one and then waits until the page asks it to take over
// ("A new version is ready — Reload"). The relay's API and sync socket are
// never cached.
const VERSION = "__ACCORD_BUILD__";
const CACHE = `accord-shell-${VERSION}`;
const SHELL = [
  "/",
  "/style.css",
  "/pkg/accord_app.js",
  "/pkg/accord_app_bg.wasm",
  "/manifest.webmanifest",
  "/icon.svg",
  "/icon-192.png",
  // The split loader and the page groups' chunks (xtask lists them here):
  // the first visit downloads only the home screen's code, and installing
  // this worker then keeps every page group for offline use.
  "__ACCORD_CHUNKS__",
];

self.addEventListener("install", (event) => {
  // `reload` bypasses the HTTP cache so the shell is this build's.
  event.waitUntil(
    caches.open(CACHE).then((cache) =>
      cache.addAll(SHELL.map((url) => new Request(url, { cache: "reload" }))),
    ),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(
        keys.filter((k) => k.startsWith("accord-shell-") && k !== CACHE).map((k) => caches.delete(k)),
      ))
      .then(() => self.clients.claim()),
  );
});

// The page sends this when the person presses "Reload" on the
// new-version notice.
self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "accord-activate") self.skipWaiting();
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/") || url.pathname === "/sync") return;
  // Every page of the app is the same document: routes live in the fragment.
  const key = request.mode === "navigate" ? "/" : url.pathname;
  // Looked up by name, never `caches.open`ed here: a worker that a newer
  // one replaced must not bring back the cache the new one deleted.
  event.respondWith(
    caches.match(key, { cacheName: CACHE }).then((hit) => {
      if (hit) return hit;
      return fetch(request).then((response) => {
        // Hashed files never change under their name: keep them too.
        if (response.ok && SHELL.includes(key)) {
          const copy = response.clone();
          caches.has(CACHE).then((kept) => kept && caches.open(CACHE).then((cache) => cache.put(key, copy)));
        }
        return response;
      });
    }),
  );
});
