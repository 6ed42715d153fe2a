// Relaydesk console: small progressive enhancements. Every action is a plain form POST and
// works without this script; with it, the page's [data-live] regions follow the server's
// event stream (/console/events) without reloading.
(() => {
  "use strict";

  // Selects marked data-autosubmit (the presence switch) submit on change.
  for (const select of document.querySelectorAll("[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.requestSubmit());
  }
  for (const el of document.querySelectorAll(".js-hide")) el.hidden = true;

  // Canned responses fill the reply box; the agent edits and sends.
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-canned]");
    if (!button) return;
    const box = document.getElementById("reply-text");
    if (!box) return;
    box.value = button.dataset.canned;
    const draft = document.getElementById("reply-draft");
    if (draft) draft.value = button.dataset.canned; // edits are measured against it
    box.focus();
  });

  // Forms marked data-once post once: a double click does not send a second POST (the
  // server refuses it anyway; this spares the person its refusal page). A page restored
  // from the back-forward cache may post again.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-once")) return;
    if (form.dataset.sent) event.preventDefault();
    form.dataset.sent = "1";
  });
  window.addEventListener("pageshow", (event) => {
    if (!event.persisted) return;
    for (const form of document.querySelectorAll("form[data-once]")) delete form.dataset.sent;
  });

  const source = document.body.dataset.events;
  const status = document.getElementById("live-status");
  if (!source || !window.EventSource) return;

  const kinds = (document.body.dataset.eventKinds || "").split(",").filter(Boolean);
  const scope = document.querySelector("[data-live-conversation]");
  const conversationId = scope ? Number(scope.dataset.liveConversation) : null;
  const MIN_GAP_MS = 400;
  let timer = null;
  let running = false;
  let again = false;
  let lastRun = 0;

  function setStatus(state, text) {
    if (!status) return;
    status.dataset.state = state;
    status.textContent = text;
  }

  function schedule() {
    if (timer) return;
    const wait = Math.max(100, MIN_GAP_MS - (Date.now() - lastRun));
    timer = setTimeout(() => { timer = null; refresh(); }, wait);
  }

  function busy(region) {
    const active = document.activeElement;
    return active && region.contains(active) && active.matches("input, textarea, select");
  }

  async function refresh() {
    if (running) { again = true; return; }
    running = true;
    lastRun = Date.now();
    try {
      const response = await fetch(location.href, {
        headers: { "X-Partial": "1" },
        credentials: "same-origin",
        cache: "no-store",
      });
      const login = response.headers.get("X-Console-Login");
      if (response.status === 401 && login) { location.assign(login); return; }
      // Refused now (say, the conversation was transferred away): show the page saying why.
      if (response.status === 403 || response.status === 404) { location.reload(); return; }
      if (!response.ok) return;
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
      for (const region of fresh.querySelectorAll("[data-live]")) {
        const current = document.querySelector(`[data-live="${region.dataset.live}"]`);
        if (current && !busy(current) && current.innerHTML !== region.innerHTML) {
          current.replaceWith(document.adoptNode(region));
        }
      }
      document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1);
    } catch (error) {
      setStatus("error", "Live updates interrupted");
    } finally {
      running = false;
      if (again) { again = false; schedule(); }
    }
  }

  function onEvent(message) {
    // A conversation page follows only its own conversation; lists follow everything.
    if (conversationId !== null && JSON.parse(message.data).conversation_id !== conversationId) {
      return;
    }
    schedule();
  }

  const stream = new EventSource(source);
  stream.addEventListener("open", () => setStatus("on", "Live"));
  stream.addEventListener("error", () => {
    if (stream.readyState === EventSource.CLOSED) {
      setStatus("off", "Live updates off");
      refresh(); // a refused stream usually means the session ended: the refresh says so
    } else {
      setStatus("reconnecting", "Reconnecting…");
    }
  });
  stream.addEventListener("message", onEvent);
  for (const kind of kinds) stream.addEventListener(kind, onEvent);
  // Waiting times and SLA clocks move even when nothing happens.
  setInterval(schedule, 60_000);
  // A region marked data-poll (a replay queued or running: its progress sends no events)
  // is fetched again every few seconds, until the fresh region no longer asks for it.
  setInterval(() => { if (document.querySelector("[data-poll]")) schedule(); }, 2_000);
})();
