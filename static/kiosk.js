// The kiosk: tap a dish, tap a face, done. Optional reason chips, sent by itself.
// Votes go to an outbox in localStorage first, so a vote the screen thanked for is
// never lost when the network drops; the outbox is sent in order, each vote once
// (the server deduplicates on client_id).
(function () {
  "use strict";
  const root = document.getElementById("kiosk");
  if (!root) return;
  const cfg = root.dataset;
  const $ = (id) => document.getElementById(id);
  const screens = ["dishes", "faces", "reasons", "thanks"];
  const OUTBOX = "canteen.outbox";
  const MENU_CACHE = "canteen.menu." + cfg.lang;
  let vote = null;
  let timer = null;
  let timerFn = null;
  let timerSeconds = 0;
  let flushing = Promise.resolve();
  let retryTimer = null;
  let card = null; // staff card number typed by a USB reader, for the next vote
  let cardTimer = null; // a card not followed by a vote is forgotten: it is not the next miner's
  let refused = new Set(); // client_ids the server refused for good (shown honestly)
  let revoked = false;
  let keys = "";
  let keysAt = 0;

  function show(name) {
    for (const s of screens) $("screen-" + s).hidden = s !== name;
    root.dataset.screen = name;
  }

  // One timer at a time: idle on the face screen, auto-send on reasons, return on thanks.
  function arm(seconds, fn) {
    clearTimeout(timer);
    timerFn = fn;
    timerSeconds = seconds;
    timer = setTimeout(fn, seconds * 1000);
    if (root.dataset.screen === "reasons") startCountdown(seconds);
  }

  function startCountdown(seconds) {
    const bar = $("countdown-bar");
    bar.style.transition = "none";
    bar.style.width = "100%";
    void bar.offsetWidth; // restart the transition
    bar.style.transition = "width " + seconds + "s linear";
    bar.style.width = "0%";
  }

  function restart() {
    clearTimeout(timer);
    timerFn = null;
    vote = null;
    card = null;
    $("card-badge").hidden = true;
    for (const chip of document.querySelectorAll(".chip")) chip.setAttribute("aria-pressed", "false");
    show("dishes");
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
    // long menus get smaller tiles so that every dish stays on the screen
    const n = menu.dishes.length;
    grid.dataset.size = n > 28 ? "tiny" : n > 20 ? "small" : n > 12 ? "compact" : "normal";
    $("menu-empty").hidden = menu.dishes.length > 0;
    renderChanges(menu.announcements || []);
  }

  // "You asked, we changed": the canteen's decisions and changes, so miners see votes matter.
  function renderChanges(items) {
    const list = $("changes-list");
    list.replaceChildren(...items.slice(0, 3).map((a) => {
      const li = document.createElement("li");
      const dish = document.createElement("strong");
      dish.textContent = a.dish;
      li.append(dish, " · " + a.text + (a.note ? " — " + a.note : ""));
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
    vote = { dish_id: dish.id, score: null, tags: [] };
    $("faces-title").textContent = cfg.rateTitle.replace("{dish}", dish.name);
    show("faces");
    arm(Number(cfg.idle), restart);
  }

  function chooseFace(score) {
    if (!vote || vote.score !== null) return;
    vote.score = score;
    show("reasons");
    arm(Number(cfg.autosend), send);
  }

  function toggleChip(chip) {
    const on = chip.getAttribute("aria-pressed") !== "true";
    chip.setAttribute("aria-pressed", String(on));
    arm(Number(cfg.autosend), send);
  }

  function send() {
    if (!vote || vote.score === null) return restart();
    const tags = Array.from(document.querySelectorAll('.chip[aria-pressed="true"]'), (c) => c.dataset.tag);
    // voted_at travels with the vote: delivered late by an offline kiosk, it keeps its time.
    const payload = { dish_id: vote.dish_id, score: vote.score, tags: tags, channel: "kiosk",
                      client_id: newClientId(), voted_at: new Date().toISOString() };
    if (card) payload.employee_no = card;
    const outbox = readOutbox();
    outbox.push(payload);
    localStorage.setItem(OUTBOX, JSON.stringify(outbox));
    vote = null;
    card = null;
    // Honest thanks: "sent" only once the server has it, else "saved on this kiosk".
    $("thanks-sent").hidden = true;
    $("thanks-saved").hidden = true;
    $("thanks-refused").hidden = true;
    show("thanks");
    arm(Number(cfg.thanks), restart);
    flush().then(() => {
      const waiting = readOutbox().some((v) => v.client_id === payload.client_id);
      const notTaken = refused.has(payload.client_id);
      $("thanks-sent").hidden = waiting || notTaken;
      $("thanks-saved").hidden = !waiting;
      $("thanks-refused").hidden = !notTaken;
    });
  }

  function readOutbox() {
    try {
      return JSON.parse(localStorage.getItem(OUTBOX) || "[]");
    } catch (err) {
      return [];
    }
  }

  function dropFromOutbox(clientId) {
    const rest = readOutbox().filter((v) => v.client_id !== clientId);
    localStorage.setItem(OUTBOX, JSON.stringify(rest));
  }

  // Runs are chained: never two at once, each reads the outbox afresh.
  function flush() {
    flushing = flushing.then(flushOnce, flushOnce);
    return flushing;
  }

  async function flushOnce() {
    let offline = false;
    for (const payload of readOutbox()) {
      let response;
      try {
        response = await fetch(cfg.ratingsUrl, {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-Canteen-Kiosk": cfg.kiosk },
          body: JSON.stringify(payload),
        });
      } catch (err) {
        offline = true;
        break;
      }
      if (response.status >= 500 || response.status === 429 || response.status === 408) {
        offline = true;
        break;
      }
      if (response.status === 403) {
        // this screen's pairing was revoked: keep the votes until it is paired again
        revoked = true;
        break;
      }
      // Stored (201), already stored (200), or refused for good (4xx): done with it.
      if (response.status >= 400) refused.add(payload.client_id);
      dropFromOutbox(payload.client_id);
    }
    $("offline").hidden = !offline;
    $("revoked").hidden = !revoked;
    showUnsent();
    clearTimeout(retryTimer);
    if (offline) retryTimer = setTimeout(flush, 5000);
  }

  function showUnsent() {
    const n = readOutbox().length;
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
      if (/^[A-Za-z0-9]{4,20}$/.test(keys)) {
        card = keys.toUpperCase();
        $("card-badge").hidden = false;
        clearTimeout(cardTimer);
        cardTimer = setTimeout(() => { card = null; $("card-badge").hidden = true; }, Number(cfg.idle) * 1000);
        if (root.dataset.screen === "faces") arm(timerSeconds, timerFn);
      }
      keys = "";
    } else if (event.key.length === 1) {
      keys += event.key;
    }
  }

  function rotateQr() {
    const img = $("phone-qr-img");
    img.onload = () => { $("phone-qr").hidden = false; };
    img.onerror = () => { $("phone-qr").hidden = true; }; // offline: phones could not vote anyway
    img.src = cfg.qrUrl + (cfg.qrUrl.includes("?") ? "&" : "?") + "t=" + Date.now();
    setTimeout(rotateQr, Number(cfg.qrSeconds) * 1000);
  }

  // Wiring
  for (const button of document.querySelectorAll(".face")) {
    button.addEventListener("click", () => chooseFace(Number(button.dataset.score)));
  }
  for (const chip of document.querySelectorAll(".chip")) {
    chip.addEventListener("click", () => toggleChip(chip));
  }
  $("done").addEventListener("click", send);
  document.querySelector('[data-action="restart"]').addEventListener("click", restart);
  // Any touch on the face screen keeps the half-vote alive a little longer.
  document.addEventListener("pointerdown", () => {
    if (timerFn && root.dataset.screen === "faces") arm(timerSeconds, timerFn);
  });
  window.addEventListener("online", flush);
  document.addEventListener("keydown", onKey);
  // The shell survives a reload while the server is down (needs a secure context:
  // https, or localhost; see the README).
  if ("serviceWorker" in navigator) navigator.serviceWorker.register(cfg.swUrl, { scope: "/" }).catch(() => {});

  restart();
  loadMenu();
  rotateQr();
  flush();
})();
