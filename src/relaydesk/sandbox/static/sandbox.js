// Relaydesk sandbox phone. Vanilla JS, no dependencies.
// Talks only to the sandbox JSON API; the sandbox turns what is typed into signed webhooks.
(function () {
  "use strict";

  var root = document.querySelector(".layout");
  var API = root.dataset.apiBase;
  var POLL_MS = parseInt(root.dataset.pollMs, 10) || 700;

  var state = {
    customers: [],
    current: null,      // wa_id
    since: 0,
    bubbles: new Map(), // wamid -> bubble
    pollTimer: null,
    generation: 0,      // bumps on customer switch, to drop stale poll answers
  };

  var el = {
    list: document.getElementById("customer-list"),
    form: document.getElementById("new-customer"),
    formError: document.getElementById("new-customer-error"),
    chat: document.getElementById("chat"),
    chatCustomer: document.getElementById("chat-customer"),
    chatStatus: document.getElementById("chat-status"),
    composer: document.getElementById("composer"),
    input: document.getElementById("composer-input"),
    banner: document.getElementById("banner"),
    sheet: document.getElementById("sheet"),
    sheetTitle: document.getElementById("sheet-title"),
    sheetBody: document.getElementById("sheet-body"),
    sheetClose: document.getElementById("sheet-close"),
  };
  var defaultStatus = el.chatStatus.textContent;

  // --- helpers -----------------------------------------------------------------------

  function h(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function api(method, path, body) {
    var opts = { method: method, headers: {} };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(API + path, opts).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        return { ok: res.ok, status: res.status, data: data };
      });
    });
  }

  function errorText(data, status) {
    var detail = data && data.detail;
    if (Array.isArray(detail)) {
      return detail.map(function (d) { return (d.msg || "").replace(/^Value error, /, ""); }).join("; ");
    }
    return detail || ("HTTP " + status);
  }

  function showBanner(text) {
    el.banner.textContent = text;
    el.banner.hidden = !text;
  }

  function clock(unix) {
    var d = new Date(unix * 1000);
    return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
  }

  var TICKS = {
    sending: ["\u23F1", "pending"], accepted: ["\u23F1", "pending"],
    sent: ["\u2713", "sent"], delivered: ["\u2713\u2713", "delivered"],
    read: ["\u2713\u2713", "read"], failed: ["!", "failed"],
  };

  // --- customers -----------------------------------------------------------------------

  function loadCustomers() {
    return api("GET", "/customers").then(function (res) {
      state.customers = res.data.customers || [];
      if (!state.customers.length) {
        return api("POST", "/customers", { name: "Alex Rivera" }).then(loadCustomers);
      }
      var saved = window.localStorage.getItem("relaydesk.sandbox.customer");
      var known = state.customers.some(function (c) { return c.wa_id === saved; });
      renderCustomers();
      if (!state.current) selectCustomer(known ? saved : state.customers[0].wa_id);
    });
  }

  function renderCustomers() {
    el.list.replaceChildren();
    state.customers.forEach(function (c) {
      var item = h("li");
      var button = h("button", "customer" + (c.wa_id === state.current ? " active" : ""));
      button.type = "button";
      button.dataset.waId = c.wa_id;
      button.append(h("span", "customer-avatar", (c.name || "?").charAt(0).toUpperCase()));
      var meta = h("span", "customer-meta");
      meta.append(h("strong", null, c.name), h("small", null, "+" + c.wa_id + (c.user_id ? " \u00B7 " + c.user_id : "")));
      button.append(meta);
      button.addEventListener("click", function () { selectCustomer(c.wa_id); });
      item.append(button);
      el.list.append(item);
    });
  }

  function selectCustomer(waId) {
    state.current = waId;
    state.since = 0;
    state.bubbles = new Map();
    state.generation += 1;
    window.localStorage.setItem("relaydesk.sandbox.customer", waId);
    var c = state.customers.find(function (x) { return x.wa_id === waId; });
    el.chatCustomer.textContent = c ? c.name : "";
    el.chat.replaceChildren();
    closeSheet();
    showBanner("");
    renderCustomers();
    poll();
  }

  el.form.addEventListener("submit", function (event) {
    event.preventDefault();
    var form = new FormData(el.form);
    var body = { name: String(form.get("name") || "").trim() };
    var waId = String(form.get("wa_id") || "").trim();
    if (waId) body.wa_id = waId;
    if (form.get("with_bsuid")) body.with_bsuid = true;
    api("POST", "/customers", body).then(function (res) {
      if (!res.ok) {
        el.formError.textContent = errorText(res.data, res.status);
        return;
      }
      el.formError.textContent = "";
      el.form.reset();
      state.customers.push(res.data);
      selectCustomer(res.data.wa_id);
    });
  });

  // --- sending ---------------------------------------------------------------------------

  function send(body) {
    body.wa_id = state.current;
    return api("POST", "/messages", body).then(function (res) {
      if (!res.ok) {
        var text = errorText(res.data, res.status);
        if (res.data && res.data.webhook_body) text += ": " + res.data.webhook_body;
        showBanner(text);
      } else {
        showBanner("");
      }
      poll();
    });
  }

  el.composer.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = el.input.value;
    if (!text.trim() || !state.current) return;
    el.input.value = "";
    send({ text: text });
  });

  function reply(kind, option, contextWamid) {
    closeSheet();
    var body = { reply: { kind: kind, id: option.id, title: option.title, context_wamid: contextWamid } };
    if (option.description) body.reply.description = option.description;
    send(body);
  }

  // --- list sheet ------------------------------------------------------------------------

  function openSheet(bubble) {
    var content = bubble.content;
    el.sheetTitle.textContent = content.button || "Options";
    el.sheetBody.replaceChildren();
    (content.sections || []).forEach(function (section) {
      if (section.title) el.sheetBody.append(h("h3", "sheet-section", section.title));
      section.rows.forEach(function (row) {
        var button = h("button", "list-row");
        button.type = "button";
        button.append(h("span", "list-row-title", row.title));
        if (row.description) button.append(h("span", "list-row-desc", row.description));
        button.addEventListener("click", function () { reply("list", row, bubble.wamid); });
        el.sheetBody.append(button);
      });
    });
    el.sheet.hidden = false;
  }

  function closeSheet() { el.sheet.hidden = true; }
  el.sheetClose.addEventListener("click", closeSheet);
  el.sheet.addEventListener("click", function (event) { if (event.target === el.sheet) closeSheet(); });
  document.addEventListener("keydown", function (event) { if (event.key === "Escape") closeSheet(); });

  // --- rendering -------------------------------------------------------------------------

  function renderBubble(b) {
    var outgoing = b.direction === "in"; // the customer's own messages sit on the right
    var row = h("div", "row " + (outgoing ? "row-me" : "row-them"));
    row.dataset.wamid = b.wamid;
    row.dataset.order = b.order;
    var bubble = h("div", "bubble " + (outgoing ? "me" : "them") + " kind-" + b.kind);
    var c = b.content || {};

    if (b.context_wamid && state.bubbles.has(b.context_wamid)) {
      var quoted = state.bubbles.get(b.context_wamid).content || {};
      bubble.append(h("div", "quote", quoted.text || ""));
    }
    if (b.kind === "template") {
      var tag = h("div", "template-tag");
      tag.append(h("span", "badge", "Template"), h("span", null, " " + c.template + " \u00B7 " + c.language));
      bubble.append(tag);
      if (c.params && c.params.length) {
        var params = h("dl", "template-params");
        c.params.forEach(function (p, i) {
          params.append(h("dt", null, p.name || "{{" + (i + 1) + "}}"), h("dd", null, p.value));
        });
        bubble.append(params);
      }
    } else {
      if (c.header) bubble.append(h("div", "header", c.header));
      bubble.append(h("div", "text", c.text || ""));
      if (c.footer) bubble.append(h("div", "footer", c.footer));
    }
    var meta = h("div", "meta");
    meta.append(h("span", "time", clock(b.at)));
    var tick = TICKS[b.status] || ["", ""];
    var ticks = h("span", "ticks tick-" + tick[1], tick[0]);
    ticks.title = b.status + (b.error ? ": " + b.error : "");
    meta.append(ticks);
    bubble.append(meta);
    row.append(bubble);

    var actions = null;
    if (c.buttons && c.buttons.length) {
      actions = c.buttons.map(function (btn) {
        return actionButton("reply-btn", btn.title, function () { reply("button", btn, b.wamid); });
      });
    } else if (c.sections) {
      actions = [actionButton("list-open", "\u2630 " + (c.button || "Options"), function () { openSheet(b); })];
    } else if (c.quick_replies && c.quick_replies.length) {
      actions = c.quick_replies.map(function (q) {
        return actionButton("reply-btn quick-reply", q.title, function () { reply("quick_reply", q, b.wamid); });
      });
    }
    if (actions) {
      var box = h("div", "actions");
      actions.forEach(function (a) { box.append(a); });
      row.append(box);
    }
    return row;
  }

  function actionButton(className, label, onClick) {
    var button = h("button", className, label);
    button.type = "button";
    button.addEventListener("click", onClick);
    return button;
  }

  function render() {
    var nearBottom = el.chat.scrollHeight - el.chat.scrollTop - el.chat.clientHeight < 80;
    var sorted = Array.from(state.bubbles.values()).sort(function (a, b) { return a.order - b.order; });
    el.chat.replaceChildren();
    if (!sorted.length) el.chat.append(h("p", "empty", "Say hello to start the conversation."));
    var lastDay = null;
    sorted.forEach(function (b) {
      var day = new Date(b.at * 1000).toDateString();
      if (day !== lastDay) {
        el.chat.append(h("div", "day", day));
        lastDay = day;
      }
      el.chat.append(renderBubble(b));
    });
    if (nearBottom || state.justLoaded) el.chat.scrollTop = el.chat.scrollHeight;
    state.justLoaded = false;
  }

  // --- polling ---------------------------------------------------------------------------

  function poll() {
    if (!state.current) return;
    if (state.inflight) { state.again = true; return; }
    window.clearTimeout(state.pollTimer);
    state.inflight = true;
    var generation = state.generation;
    var first = state.since === 0;
    api("GET", "/timeline?wa_id=" + encodeURIComponent(state.current) + "&since=" + state.since)
      .then(function (res) {
        if (generation !== state.generation || !res.ok) return;
        var data = res.data;
        data.bubbles.forEach(function (b) { state.bubbles.set(b.wamid, b); });
        state.since = Math.max(state.since, data.last_seq);
        el.chatStatus.textContent = data.typing ? "typing\u2026" : defaultStatus;
        if (data.bubbles.length || first) {
          state.justLoaded = first;
          render();
        }
      })
      .catch(function () { /* the server may be restarting; try again */ })
      .then(function () {
        state.inflight = false;
        if (state.again) {
          state.again = false;
          poll();
        } else {
          state.pollTimer = window.setTimeout(poll, POLL_MS);
        }
      });
  }

  loadCustomers();
})();
