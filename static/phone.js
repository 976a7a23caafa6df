// The phone page: tap a dish, a face, maybe reasons and a comment, then Send.
(function () {
  "use strict";
  const root = document.getElementById("phone");
  if (!root) return;
  const cfg = root.dataset;
  const panel = document.getElementById("vote-panel");
  const send = document.getElementById("send");
  const errorBox = document.getElementById("vote-error");
  let current = null;

  function newClientId() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return "p-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function reset() {
    for (const b of panel.querySelectorAll("[aria-pressed]")) b.setAttribute("aria-pressed", "false");
    document.getElementById("comment").value = "";
    errorBox.hidden = true;
    send.disabled = true;
  }

  function open(row) {
    if (current) current.row.setAttribute("aria-expanded", "false");
    current = { row: row, dish: Number(row.dataset.dish), score: null, clientId: newClientId() };
    reset();
    row.setAttribute("aria-expanded", "true");
    document.getElementById("vote-title").textContent = row.querySelector(".dish-name").textContent;
    row.closest("li").after(panel);
    panel.hidden = false;
    document.getElementById("thanks").hidden = true;
    panel.scrollIntoView({ block: "nearest" });
  }

  function close() {
    if (current) current.row.setAttribute("aria-expanded", "false");
    current = null;
    panel.hidden = true;
  }

  for (const row of document.querySelectorAll(".dish-row")) row.addEventListener("click", () => open(row));
  for (const face of panel.querySelectorAll(".face")) {
    face.addEventListener("click", () => {
      for (const f of panel.querySelectorAll(".face")) f.setAttribute("aria-pressed", String(f === face));
      current.score = Number(face.dataset.score);
      send.disabled = false;
    });
  }
  for (const chip of panel.querySelectorAll(".chip")) {
    chip.addEventListener("click", () => chip.setAttribute("aria-pressed", String(chip.getAttribute("aria-pressed") !== "true")));
  }
  document.getElementById("cancel").addEventListener("click", close);
  const first = cfg.openDish && document.querySelector('.dish-row[data-dish="' + cfg.openDish + '"]');
  if (first) open(first);

  send.addEventListener("click", async () => {
    if (!current || current.score === null) return;
    send.disabled = true;
    const body = {
      dish_id: current.dish, score: current.score, channel: "phone", client_id: current.clientId,
      qr_token: cfg.token,
      tags: Array.from(panel.querySelectorAll('.chip[aria-pressed="true"]'), (c) => c.dataset.tag),
      comment: document.getElementById("comment").value || null,
    };
    let response;
    try {
      response = await fetch(cfg.ratingsUrl, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    } catch (err) {
      errorBox.textContent = cfg.offline;
      errorBox.hidden = false;
      send.disabled = false; // same client_id on retry: it can never count twice
      return;
    }
    if (response.ok) {
      current.row.querySelector(".voted").hidden = false;
      close();
      document.getElementById("thanks").hidden = false;
      return;
    }
    // the API's own words are for programs; people get them in their language
    let field = null;
    try { field = (await response.json()).field; } catch (err) { /* not JSON */ }
    let message = cfg.error.replace("{reason}", String(response.status));
    if (response.status === 429) message = cfg.limited;
    else if (field === "qr_token" || field === "channel" || response.status === 403) message = cfg.refused;
    errorBox.textContent = message;
    errorBox.hidden = false;
    send.disabled = false;
  });
})();
