// Service worker for the kiosk: the screen keeps working through a server restart or a
// reload while the network is down. Network first (so updates arrive at once), the cache
// only when the server cannot be reached. Votes never pass through here: the page keeps
// them in its outbox until the server has acknowledged each one.
const CACHE = "canteen-kiosk-v1";
const SHELL = ["/kiosk", "/static/canteen.css", "/static/kiosk.js", "/static/favicon.svg"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

function isShell(url) {
  return url.pathname === "/kiosk" || url.pathname.startsWith("/static/") ||
    url.pathname === "/api/v1/menu/current" || url.pathname.startsWith("/photos/");
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin || !isShell(url)) return;
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(request, copy));
        }
        return response;
      })
      .catch(() => caches.match(request).then((hit) => hit || caches.match(request, { ignoreSearch: true }))
        .then((hit) => hit || (request.mode === "navigate" ? caches.match("/kiosk") : undefined))
        .then((hit) => hit || Response.error())),
  );
});
