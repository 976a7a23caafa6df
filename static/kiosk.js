// The kiosk: tap a dish, tap a face — the face tap is the vote. The next screen says what
// was recorded, offers "Change" and optional reasons, and gives the screen back to the next
// miner within a couple of seconds, or at once on a touch elsewhere.
// Votes and their changes go to an outbox in localStorage first, so a vote the screen showed
// as recorded is never lost when the network drops; the outbox is sent in order, each entry
// once (the server deduplicates votes on client_id; changes are idempotent).
(function () {
  "use strict";
  const root = document.getElementById("kiosk");
  if (!root) return;
  const cfg = root.dataset;
  const $ = (id) => document.getElementById(id);
  const screens = ["dishes", "faces", "done"];
  const OUTBOX = "canteen.outbox";
  const MENU_CACHE = "canteen.menu." + cfg.lang;
  const GHOST_MS = Number(cfg.ghostMs || 400);
  const RESET = "canteen.language-reset";
  let vote = null; // the half vote on the faces screen: {dish}
  let recorded = null; // the vote on the done screen: {client_id, dish, score, tags, withdrawable}
  let timer = null;
  let timerFn = null;
  let timerSeconds = 0;
  let shownAt = 0;
  let flushing = Promise.resolve();
  let retryTimer = null;
  let card = null; // staff card number typed by a USB reader, for the next vote
  let cardTimer = null; // a card not followed by a vote is forgotten: it is not the next miner's
  let refused = new Set(); // client_ids the server refused for good (shown honestly)
  let revoked = false;
  let offline = false;
  let keys = "";
  let keysAt = 0;

  function show(name) {
    if (root.dataset.screen === name) return; // nothing moved under the finger: no guard
    for (const s of screens) $("screen-" + s).hidden = s !== name;
    root.dataset.screen = name;
    shownAt = performance.now();
  }

  // A touch this soon after the screen changed belongs to the previous screen (a gloved
  // double tap): it must not land on whatever now lies under the finger.
  // The whole gesture is judged by its first contact: a touch that began inside the guard
  // must not turn into a click because its lift or the synthesised click came just after it.
  let ghostGesture = false;
  function ghost(event) {
    const early = performance.now() - shownAt < GHOST_MS;
    if (event.type === "pointerdown") ghostGesture = early;
    const keyboard = event.type === "click" && event.detail === 0; // Enter or Space: no touch
    if (early || (ghostGesture && !keyboard)) {
      event.preventDefault();
      event.stopImmediatePropagation();
      return true;
    }
    return false;
  }
  for (const type of ["pointerdown", "pointerup", "touchstart", "touchend", "mousedown", "mouseup", "click"]) {
    document.addEventListener(type, ghost, { capture: true, passive: false });
  }

  // One timer at a time: idle on the faces screen, back to the dishes on the done screen.
  function arm(seconds, fn) {
    clearTimeout(timer);
    timerFn = fn;
    timerSeconds = seconds;
    timer = setTimeout(fn, seconds * 1000);
    if (root.dataset.screen === "done") startCountdown(seconds);
  }

  function startCountdown(seconds) {
    const bar = $("countdown-bar");
    bar.style.transition = "none";
    bar.style.width = "100%";
    void bar.offsetWidth; // restart the transition
    bar.style.transition = "width " + seconds + "s linear";
    bar.style.width = "0%";
  }

  // Back to the dishes for the next miner: reasons chosen are queued on the stored vote, and
  // a language other than the default was one miner's choice, not the next one's.
  function restart() {
    clearTimeout(timer);
    timerFn = null;
    const leaving = root.dataset.screen;
    finishRecorded();
    vote = null;
    // a card read on the done screen is the next miner's; one left on the faces is not
    if (leaving !== "done") forgetCard();
    if (cfg.lang !== cfg.defaultLang && !offline && !revoked) {
      // the finger that ended the last screen may still be coming down on the reloaded one
      sessionStorage.setItem(RESET, String(Date.now()));
      window.location.replace(cfg.homeUrl);
      return;
    }
    show("dishes");
    if (cfg.lang !== cfg.defaultLang) arm(Number(cfg.idle), restart); // back to Chinese when left alone
  }

  function forgetCard() {
    card = null;
    clearTimeout(cardTimer);
    $("card-badge").hidden = true;
  }

  function newClientId() {
    // crypto.randomUUID needs a secure context; kiosks on a plain-http intranet lack one.
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return "k-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function formatPrice(fen) {
    return cfg.currency + (fen / 100).toFixed(fen % 100 ? 2 : 0);
  }

  function tile(dish) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "dish";
    button.setAttribute("aria-label", dish.name); // found by its name alone: "红烧肉"
    const pic = document.createElement("span");
    pic.className = "dish-photo cat-" + dish.category;
    pic.setAttribute("aria-hidden", "true");
    if (dish.photo_url) {
      const img = document.createElement("img");
      img.src = dish.photo_url;
      img.alt = "";
      pic.appendChild(img);
    } else {
      pic.textContent = (Array.from(dish.name)[0] || "?").toUpperCase();
    }
    const name = document.createElement("span");
    name.className = "dish-name";
    name.textContent = dish.name;
    const price = document.createElement("span");
    price.className = "dish-price";
    price.textContent = formatPrice(dish.price_fen);
    button.append(pic, name, price);
    if (dish.is_new) {
      const badge = document.createElement("span");
      badge.className = "badge-new";
      badge.textContent = cfg.newLabel;
      button.appendChild(badge);
    }
    button.addEventListener("click", () => chooseDish(dish));
    return button;
  }

  function renderMenu(menu) {
    $("meal-name").textContent = menu.meal_name;
    $("meal-date").textContent = menu.date;
    const grid = $("dish-grid");
    grid.replaceChildren(...menu.dishes.map(tile));
    grid.dataset.count = String(menu.dishes.length);
    $("menu-empty").hidden = menu.dishes.length > 0;
    root.dataset.empty = String(!menu.dishes.length); // no "tap the dish", no phone QR: nothing to rate
    renderChanges(menu.announcements || []);
    fitGrid();
  }

  // Every dish on the screen, as large as the screen allows: the grid's columns and the
  // tiles' size are worked out from the space left by the title and the footer.
  function fitGrid() {
    const grid = $("dish-grid");
    const n = grid.childElementCount;
    if (!n || root.dataset.screen !== "dishes") return;
    grid.style.removeProperty("--tile-w");
    const width = grid.clientWidth;
    const height = grid.clientHeight;
    if (!width || !height) return;
    const gap = Math.max(8, Math.min(18, Math.round(height / 40)));
    let best = null;
    for (let cols = 1; cols <= n; cols++) {
      const rows = Math.ceil(n / cols);
      const w = Math.min((width - gap * (cols - 1)) / cols, 300);
      const h = Math.min((height - gap * (rows - 1)) / rows, 250);
      if (w < 60 || h < 48) continue;
      const score = Math.min(w, h * 1.3); // a tile a little wider than tall reads best
      if (!best || score > best.score) best = { cols, w, h, score };
    }
    if (!best) best = { cols: Math.ceil(Math.sqrt(n * 2)), w: 60, h: 48 };
    grid.style.setProperty("--cols", best.cols);
    grid.style.setProperty("--gap", gap + "px");
    grid.style.setProperty("--tile-w", Math.floor(best.w) + "px");
    grid.style.setProperty("--tile-h", Math.floor(best.h) + "px");
    grid.dataset.size = best.h >= 170 ? "normal" : best.h >= 130 ? "compact" : best.h >= 84 ? "small" : "tiny";
  }

  // "You asked, we changed": the canteen's decisions and changes, so miners see votes matter.
  function renderChanges(items) {
    const list = $("changes-list");
    list.replaceChildren(...items.slice(0, 3).map((a) => {
      const li = document.createElement("li");
      const line = document.createElement("span");  // two lines at most: a note may be 1000 characters
      line.className = "change-line";
      const dish = document.createElement("strong");
      dish.textContent = a.dish;
      line.append(dish, " · " + a.text + (a.note ? " — " + a.note : ""));
      li.append(line);
      return li;
    }));
    $("changes").hidden = items.length === 0;
  }

  async function loadMenu() {
    try {
      const response = await fetch(cfg.menuUrl, { cache: "no-store", headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error("menu " + response.status);
      const menu = await response.json();
      localStorage.setItem(MENU_CACHE, JSON.stringify(menu));
      renderMenu(menu);
      $("menu-error").hidden = true;
    } catch (err) {
      const cached = localStorage.getItem(MENU_CACHE);
      if (cached && !$("dish-grid").childElementCount) renderMenu(JSON.parse(cached));
      $("menu-error").hidden = Boolean(cached);
    }
    setTimeout(loadMenu, 60000);
  }

  function chooseDish(dish) {
    finishRecorded();
    vote = { dish: dish };
    $("faces-title").textContent = cfg.rateTitle.replace("{dish}", dish.name);
    show("faces");
    arm(Number(cfg.idle), restart);
  }

  // The face tap is the vote: into the outbox at once, then to the server.
  function chooseFace(button) {
    if (!vote) return;
    const score = Number(button.dataset.score);
    // voted_at travels with the vote: delivered late by an offline kiosk, it keeps its time.
    const payload = { dish_id: vote.dish.id, score: score, tags: [], channel: "kiosk",
                      client_id: newClientId(), voted_at: new Date().toISOString() };
    if (card) payload.employee_no = card;
    enqueue({ op: "vote", client_id: payload.client_id, body: payload });
    recorded = { client_id: payload.client_id, dish: vote.dish, score: score, tags: [], sentTags: [],
                 votedAt: Date.now() };
    vote = null;
    forgetCard();
    showRecorded(button.dataset.label);
    flush().then(showDelivery);
  }

  function showRecorded(label) {
    $("recorded-vote").textContent = recorded.dish.name + " · " + recorded.score + " " + label;
    for (const face of $("recorded-face").children) face.hidden = Number(face.dataset.score) !== recorded.score;
    const kind = recorded.score >= 4 ? "praise" : "complaint";
    for (const chip of document.querySelectorAll(".chip")) {
      chip.setAttribute("aria-pressed", "false");
      chip.hidden = chip.dataset.kind !== kind;
    }
    $("thanks-saved").hidden = true;
    $("thanks-refused").hidden = true;
    $("change").hidden = false;
    show("done");
    arm(Number(cfg.thanks), restart);
  }

  // Honest thanks: "saved on this kiosk" until the server has it, "not accepted" if refused.
  function showDelivery() {
    if (!recorded) return;
    const waiting = readOutbox().some((e) => e.client_id === recorded.client_id && e.op === "vote");
    const notTaken = refused.has(recorded.client_id);
    $("thanks-saved").hidden = !waiting;
    $("thanks-refused").hidden = !notTaken;
    if (notTaken) $("change").hidden = true;
  }

  function toggleChip(chip) {
    if (!recorded) return;
    const now = performance.now();
    if (now - Number(chip.dataset.toggledAt || -1e9) < GHOST_MS) return; // a glove's second touch
    chip.dataset.toggledAt = String(now);
    const on = chip.getAttribute("aria-pressed") !== "true";
    chip.setAttribute("aria-pressed", String(on));
    recorded.tags = Array.from(document.querySelectorAll('.chip[aria-pressed="true"]'), (c) => c.dataset.tag);
    arm(Number(cfg.reasons), restart);
  }

  // Leaving the done screen: reasons chosen there are added to the stored vote.
  function finishRecorded() {
    if (!recorded) return;
    const tags = recorded.tags.slice().sort();
    if (tags.join() !== recorded.sentTags.join() && !refused.has(recorded.client_id)) {
      enqueue({ op: "change", client_id: recorded.client_id, body: { tags: tags, changed_at: new Date().toISOString() } });
      flush();
    }
    recorded = null;
  }

  // "Change": the vote is withdrawn (kept, marked, left out of every count) and the faces
  // come back for the same dish.
  function change() {
    if (!recorded) return;
    const dish = recorded.dish;
    enqueue({ op: "change", client_id: recorded.client_id,
              body: { withdrawn: true, changed_at: new Date().toISOString() } });
    recorded = null;
    flush();
    chooseDish(dish);
  }

  function readOutbox() {
    try {
      // entries from before votes had changes were the bare payloads
      return JSON.parse(localStorage.getItem(OUTBOX) || "[]").map((e) =>
        (e.op ? e : { op: "vote", client_id: e.client_id, body: e }));
    } catch (err) {
      return [];
    }
  }

  function enqueue(entry) {
    const outbox = readOutbox();
    outbox.push(entry);
    localStorage.setItem(OUTBOX, JSON.stringify(outbox));
    showUnsent();
  }

  function dropFromOutbox(entry) {
    const rest = readOutbox().filter((e) => !(e.client_id === entry.client_id && e.op === entry.op &&
                                              JSON.stringify(e.body) === JSON.stringify(entry.body)));
    localStorage.setItem(OUTBOX, JSON.stringify(rest));
  }

  // Runs are chained: never two at once, each reads the outbox afresh.
  function flush() {
    flushing = flushing.then(flushOnce, flushOnce);
    return flushing;
  }

  function request(entry) {
    const vote = entry.op === "vote";
    return fetch(vote ? cfg.ratingsUrl : cfg.ratingsUrl + "/" + encodeURIComponent(entry.client_id), {
      method: vote ? "POST" : "PATCH",
      headers: { "Content-Type": "application/json", "X-Canteen-Kiosk": cfg.kiosk },
      body: JSON.stringify(entry.body),
    });
  }

  async function flushOnce() {
    offline = false;
    revoked = false;
    for (const entry of readOutbox()) {
      let response;
      try {
        response = await request(entry);
      } catch (err) {
        offline = true;
        break;
      }
      if (response.status >= 500 || response.status === 429 || response.status === 408) {
        offline = true;
        break;
      }
      if (response.status === 403) {
        // this screen is not (or no longer) paired: keep everything until it is paired again
        revoked = true;
        break;
      }
      // Stored (201), already stored (200), or refused for good (other 4xx): done with it.
      if (response.status >= 400 && entry.op === "vote") refused.add(entry.client_id);
      if (entry.op === "change" && recorded && recorded.client_id === entry.client_id && entry.body.tags) {
        recorded.sentTags = entry.body.tags.slice();
      }
      dropFromOutbox(entry);
    }
    $("offline").hidden = !offline;
    $("revoked").hidden = !revoked;
    showUnsent();
    clearTimeout(retryTimer);
    if (offline || revoked) retryTimer = setTimeout(flush, 5000);
  }

  function showUnsent() {
    const n = readOutbox().filter((e) => e.op === "vote").length;
    $("unsent").hidden = n === 0;
    $("unsent").textContent = cfg.unsent.replace("{n}", String(n));
  }

  // USB card readers type the number and Enter, faster than any hand.
  function onKey(event) {
    if (cfg.cardReader !== "1") return;
    const now = Date.now();
    if (now - keysAt > 1000) keys = "";
    keysAt = now;
    if (event.key === "Enter") {
      event.preventDefault(); // the reader's Enter must not press the button last touched
      if (/^[A-Za-z0-9]{4,20}$/.test(keys)) {
        card = keys.toUpperCase();
        $("card-badge").hidden = false;
        clearTimeout(cardTimer);
        cardTimer = setTimeout(forgetCard, Number(cfg.idle) * 1000);
        if (root.dataset.screen === "faces") arm(timerSeconds, timerFn);
      }
      keys = "";
    } else if (event.key.length === 1) {
      keys += event.key;
    }
  }

  function rotateQr() {
    const img = $("phone-qr-img");
    img.onload = () => { $("phone-qr").hidden = false; fitGrid(); };
    img.onerror = () => { $("phone-qr").hidden = true; fitGrid(); }; // offline: phones could not vote anyway
    img.src = cfg.qrUrl + (cfg.qrUrl.includes("?") ? "&" : "?") + "t=" + Date.now();
    setTimeout(rotateQr, Number(cfg.qrSeconds) * 1000);
  }

  // Wiring
  for (const button of document.querySelectorAll(".face")) {
    button.addEventListener("click", () => chooseFace(button));
  }
  for (const chip of document.querySelectorAll(".chip")) {
    chip.addEventListener("click", (event) => { event.stopPropagation(); toggleChip(chip); });
  }
  $("change").addEventListener("click", (event) => { event.stopPropagation(); change(); });
  // Any other touch on the done screen: the next miner is here.
  $("screen-done").addEventListener("click", () => restart());
  document.querySelector('[data-action="restart"]').addEventListener("click", restart);
  // Any touch on the faces screen keeps the half-vote alive a little longer.
  document.addEventListener("pointerdown", () => {
    if (timerFn && root.dataset.screen === "faces") arm(timerSeconds, timerFn);
  });
  window.addEventListener("online", flush);
  window.addEventListener("pagehide", finishRecorded); // e.g. the language button on the done screen
  window.addEventListener("resize", fitGrid);
  if ("ResizeObserver" in window) new ResizeObserver(fitGrid).observe($("dish-grid"));
  document.addEventListener("keydown", onKey);
  // The shell survives a reload while the server is down (needs a secure context:
  // https, or localhost; see the README).
  if ("serviceWorker" in navigator) navigator.serviceWorker.register(cfg.swUrl, { scope: "/" }).catch(() => {});

  show("dishes");
  // a page that just loaded has no earlier touch to ghost, unless the kiosk reloaded itself
  // to go back to Chinese while the last miner's finger was still on the glass
  const reset = Number(sessionStorage.getItem(RESET) || 0);
  sessionStorage.removeItem(RESET);
  shownAt = Date.now() - reset < 3000 ? performance.now() : -Infinity;
  if (cfg.lang !== cfg.defaultLang) arm(Number(cfg.idle), restart);
  loadMenu();
  rotateQr();
  flush();
})();
