/*
 * Shopdesk chat page: speaks docs/webchat-protocol.md over the WebSocket /ws/chat.
 *
 * Why it is built like this:
 * - Nothing is lost: a customer message goes into an outbox in localStorage before
 *   it is sent and leaves it only when the server's `ack` says it is stored. After
 *   every `welcome` the whole outbox is sent again; the server stores a client_id once.
 * - Nothing is shown twice: a stored message is shown once per server `id`; the
 *   page's own "sending" bubble is matched to its `ack` by client_id.
 * - Nothing is injected: whatever a customer, the bot or an agent wrote reaches the
 *   page through textContent and createElement, never as markup. The gateway's
 *   Content-Security-Policy is the second wall.
 */
(() => {
  "use strict";

  const SESSION_KEY = "shopdesk.session";
  const OUTBOX_KEY = "shopdesk.outbox";
  const CLIENT_ID = /^[A-Za-z0-9_-]{8,64}$/;
  const FIRST_RETRY_MS = 500;
  const MAX_RETRY_MS = 10000;
  const PING_EVERY_MS = 25000;
  const DELIVERED_AFTER_MS = 300;
  const NOTICE_MS = 5000;
  const REPLY_SENDERS = new Set(["bot", "agent", "system"]);
  const SENDER_LABELS = new Map([["customer", "You"], ["bot", "Shopdesk"], ["agent", "Agent"], ["system", "Notice"]]);
  const ITEM_ERRORS = new Set(["invalid_text", "frame_too_large"]);

  const byId = (id) => document.getElementById(id);
  const ui = {
    scroller: byId("log-area"), messages: byId("messages"), hint: byId("empty-hint"), typing: byId("typing"),
    status: byId("status"), form: byId("composer"), input: byId("input"),
  };

  const state = {
    socket: null,
    welcomed: false, // hello answered on the current socket: messages may be sent
    retries: 0, retryTimer: 0, retryAfterMs: 0,
    conversationId: null,
    lastSeen: 0, // highest message id shown in this conversation (memory only)
    lastReplyId: 0, // highest bot/agent/system id shown, for `delivered`
    deliveredSent: 0, deliveredTimer: 0,
    notice: "", noticeTimer: 0, // a passing error shown in the status line
    shown: new Map(), // server id -> element, current conversation
    pending: new Map(), // client_id -> element still sending
  };

  // ---- Storage: localStorage, or memory where the browser refuses it (private mode,
  // blocked third-party storage in the widget's iframe).

  const store = openStore();

  function openStore() {
    try {
      localStorage.setItem("shopdesk.probe", "1");
      localStorage.removeItem("shopdesk.probe");
      return localStorage;
    } catch {
      const memory = new Map();
      return { getItem: (key) => memory.get(key) ?? null, setItem: (key, value) => memory.set(key, value) };
    }
  }

  function save(key, value) {
    try {
      store.setItem(key, value);
    } catch {} // quota full: the message is still shown and sent, it just would not survive a reload
  }

  const isOutboxItem = (item) =>
    Boolean(item) && typeof item.client_id === "string" && CLIENT_ID.test(item.client_id) && typeof item.text === "string";

  function readOutbox() {
    try {
      const items = JSON.parse(store.getItem(OUTBOX_KEY) || "[]");
      return Array.isArray(items) ? items.filter(isOutboxItem) : [];
    } catch {
      return [];
    }
  }

  const writeOutbox = (items) => save(OUTBOX_KEY, JSON.stringify(items));
  const dropFromOutbox = (clientId) => writeOutbox(readOutbox().filter((item) => item.client_id !== clientId));

  function newClientId() {
    if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
    const bytes = crypto.getRandomValues(new Uint8Array(16)); // randomUUID needs https; this does not
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // ---- Connection

  function connect() {
    clearTimeout(state.retryTimer);
    setConnection("connecting");
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}/ws/chat`);
    state.socket = socket;
    socket.addEventListener("open", () => socket === state.socket && sendHello());
    socket.addEventListener("message", (event) => socket === state.socket && onFrame(event.data));
    socket.addEventListener("close", () => onSocketGone(socket));
    socket.addEventListener("error", () => onSocketGone(socket));
  }

  function onSocketGone(socket) {
    if (socket !== state.socket) return; // error and close both come; act once
    state.socket = null;
    state.welcomed = false;
    socket.close();
    setTyping(false);
    scheduleReconnect();
  }

  function scheduleReconnect() {
    const base = FIRST_RETRY_MS * 2 ** Math.min(state.retries, 10);
    state.retries += 1;
    setConnection("closed");
    // Jitter, so that pages cut off together do not all come back at the same instant;
    // never sooner than the server asked (a rate-limited new chat).
    const backoff = Math.min(MAX_RETRY_MS, base * (0.75 + Math.random() * 0.5));
    const delay = Math.max(backoff, state.retryAfterMs);
    state.retryAfterMs = 0;
    clearTimeout(state.retryTimer);
    state.retryTimer = setTimeout(connect, delay);
  }

  function sendFrame(frame) {
    const socket = state.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(frame));
    return true;
  }

  const sendHello = () => sendFrame({ type: "hello", session: store.getItem(SESSION_KEY), last_seen: state.lastSeen });

  function setConnection(value) {
    document.body.dataset.connection = value;
    renderStatus();
  }

  function renderStatus() {
    const open = document.body.dataset.connection === "open";
    const trying = state.retries > 0 ? "Reconnecting…" : "Connecting…";
    const text = state.notice || (open ? "" : trying);
    ui.status.textContent = text;
    ui.status.hidden = !text;
  }

  function showNotice(text) {
    state.notice = text;
    renderStatus();
    clearTimeout(state.noticeTimer);
    if (text) state.noticeTimer = setTimeout(showNotice, NOTICE_MS, "");
  }

  // ---- Frames from the server

  const HANDLERS = new Map([
    ["welcome", onWelcome],
    ["message", (frame) => showMessage(frame.message)],
    ["ack", onAck],
    ["typing", (frame) => setTyping(frame.on === true)],
    ["conversation", (frame) => enterConversation(frame.conversation_id)],
    ["error", onError],
  ]);

  function onFrame(raw) {
    let frame;
    try {
      frame = JSON.parse(raw);
    } catch {
      return;
    }
    const handler = frame && typeof frame === "object" ? HANDLERS.get(frame.type) : undefined;
    if (!handler) return; // pong, or something this page does not know
    const stick = isNearEnd();
    handler(frame);
    afterRender(stick);
  }

  function onWelcome(frame) {
    if (typeof frame.session === "string") save(SESSION_KEY, frame.session);
    enterConversation(frame.conversation_id);
    state.welcomed = true;
    state.retries = 0;
    state.deliveredSent = 0; // report once on every connection; `delivered` is idempotent
    setConnection("open");
    scheduleDelivered();
    // The server answers frames in order, so these go after the history it is sending.
    for (const item of readOutbox()) sendFrame({ type: "message", client_id: item.client_id, text: item.text });
  }

  function enterConversation(conversationId) {
    if (typeof conversationId !== "string" || conversationId === state.conversationId) return;
    if (state.conversationId !== null) startNewConversation();
    state.conversationId = conversationId;
  }

  function startNewConversation() {
    state.shown.clear();
    state.lastSeen = 0;
    state.lastReplyId = 0;
    state.deliveredSent = 0;
    clearQuickReplies();
    const divider = createText("p", "divider", "New conversation");
    place(divider, Infinity);
  }

  function onAck(frame) {
    const clientId = frame.client_id;
    if (typeof clientId !== "string") return;
    dropFromOutbox(clientId);
    const bubble = state.pending.get(clientId);
    state.pending.delete(clientId);
    const message = normalise(frame.message);
    if (!message) return;
    if (bubble && !state.shown.has(message.id)) {
      settle(bubble, message);
    } else {
      if (bubble) bubble.remove(); // already shown, e.g. as history after a reload
      showMessage(frame.message);
      const shown = state.shown.get(message.id);
      if (shown && message.sender === "customer") shown.dataset.clientId = clientId;
    }
  }

  function onError(frame) {
    const detail = typeof frame.detail === "string" && frame.detail ? frame.detail : "Something went wrong.";
    if (ITEM_ERRORS.has(frame.code) && typeof frame.client_id === "string") {
      markFailed(frame.client_id, detail);
    } else if (frame.code === "hello_required") {
      state.welcomed = false;
      sendHello();
    } else if (frame.code === "rate_limited") {
      onRateLimited(frame, detail);
    } else {
      showNotice(detail);
    }
  }

  // Too fast: nothing was stored. A message stays in the outbox and goes again after the
  // wait the server gave; a refused new chat reconnects after it.
  function onRateLimited(frame, detail) {
    const waitMs = 1000 * (Number.isInteger(frame.retry_after) && frame.retry_after > 0 ? frame.retry_after : 5);
    showNotice(detail);
    if (typeof frame.client_id !== "string") {
      state.retryAfterMs = waitMs;
      return;
    }
    const clientId = frame.client_id;
    setTimeout(() => {
      const item = readOutbox().find((entry) => entry.client_id === clientId);
      if (item && state.welcomed) sendFrame({ type: "message", client_id: item.client_id, text: item.text });
    }, waitMs);
  }

  // ---- Rendering. Every piece of text goes in with textContent.

  function normalise(message) {
    if (!message || typeof message !== "object") return null;
    const { id, sender, text } = message;
    if (!Number.isInteger(id) || id <= 0 || typeof sender !== "string") return null;
    if (text !== null && typeof text !== "string") return null;
    const buttons = Array.isArray(message.buttons)
      ? message.buttons.filter((b) => b && typeof b.title === "string" && typeof b.payload === "string")
      : [];
    return { id, sender, text, buttons, createdAt: message.created_at };
  }

  function showMessage(raw) {
    const message = normalise(raw);
    if (!message || state.shown.has(message.id)) return;
    clearQuickReplies();
    const element = buildMessage(message);
    place(element, message.id);
    remember(element, message);
    if (REPLY_SENDERS.has(message.sender)) setTyping(false);
    if (message.sender !== "customer" && message.buttons.length && isLastMessage(element)) {
      element.append(buildQuickReplies(message.buttons));
    }
  }

  function remember(element, message) {
    state.shown.set(message.id, element);
    state.lastSeen = Math.max(state.lastSeen, message.id);
    if (REPLY_SENDERS.has(message.sender)) {
      state.lastReplyId = Math.max(state.lastReplyId, message.id);
      scheduleDelivered();
    }
  }

  function buildMessage({ id, sender, text, createdAt, clientId }) {
    const element = document.createElement("div");
    element.className = "message";
    element.dataset.sender = sender;
    if (id) element.dataset.id = String(id);
    if (clientId) element.dataset.clientId = clientId;
    const bubble = createText("div", "bubble", "");
    const label = createText("span", "sender", SENDER_LABELS.get(sender) || sender);
    if (sender !== "agent") label.classList.add("visually-hidden");
    bubble.append(label);
    if (typeof text === "string") bubble.append(createText("p", "text", text));
    else element.classList.add("no-text");
    element.append(bubble, id ? buildMeta(createdAt) : createText("span", "meta", "Sending…"));
    return element;
  }

  function buildMeta(createdAt) {
    const date = parseTime(createdAt);
    if (!date) return createText("span", "meta", "");
    const pad = (n) => String(n).padStart(2, "0");
    const time = createText("time", "meta", `${pad(date.getHours())}:${pad(date.getMinutes())}`);
    time.setAttribute("datetime", date.toISOString());
    time.title = date.toLocaleString();
    return time;
  }

  function parseTime(value) {
    if (typeof value !== "string") return null;
    // Python writes microseconds; not every browser parses more than milliseconds.
    const date = new Date(value.replace(/(\.\d{3})\d+/, "$1"));
    return Number.isNaN(date.getTime()) ? null : date;
  }

  function createText(tag, className, text) {
    const element = document.createElement(tag);
    element.className = className;
    element.textContent = text;
    return element;
  }

  function buildQuickReplies(buttons) {
    const group = document.createElement("div");
    group.className = "quick-replies";
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Suggested replies");
    for (const { title, payload } of buttons) {
      const button = createText("button", "", title);
      button.type = "button";
      button.addEventListener("click", () => sendText(payload));
      group.append(button);
    }
    return group;
  }

  function clearQuickReplies() {
    const focused = ui.messages.querySelector(".quick-replies button:focus-visible");
    for (const group of ui.messages.querySelectorAll(".quick-replies")) group.remove();
    if (focused) ui.input.focus(); // do not drop keyboard focus onto the page body
  }

  const isLastMessage = (element) => ui.messages.lastElementChild === element;

  // Stored messages stay in id order, above the bubbles still sending and never above a divider.
  function place(element, id) {
    let after = ui.messages.lastElementChild;
    while (after && (after === element || isAbove(after, id))) after = after.previousElementSibling;
    const before = after ? after.nextElementSibling : ui.messages.firstElementChild;
    if (before !== element) ui.messages.insertBefore(element, before);
  }

  const isAbove = (node, id) =>
    node.classList.contains("sending") || (node.dataset.id !== undefined && Number(node.dataset.id) > id);

  function showPending(item) {
    const element = buildMessage({ sender: "customer", text: item.text, clientId: item.client_id });
    element.classList.add("sending");
    ui.messages.append(element);
    state.pending.set(item.client_id, element);
  }

  function settle(bubble, message) {
    bubble.classList.remove("sending");
    bubble.dataset.id = String(message.id);
    bubble.querySelector(".meta").replaceWith(buildMeta(message.createdAt));
    place(bubble, message.id);
    remember(bubble, message);
  }

  function markFailed(clientId, detail) {
    dropFromOutbox(clientId);
    const bubble = state.pending.get(clientId);
    state.pending.delete(clientId);
    if (!bubble) return showNotice(detail);
    bubble.classList.remove("sending");
    bubble.classList.add("failed");
    bubble.querySelector(".meta").replaceWith(createText("span", "meta", "Not sent"));
    bubble.append(createText("p", "error", detail));
  }

  function setTyping(on) {
    const stick = isNearEnd();
    ui.typing.hidden = !on;
    if (on && stick) scrollToEnd();
  }

  const isNearEnd = () => ui.scroller.scrollHeight - ui.scroller.scrollTop - ui.scroller.clientHeight < 80;
  const scrollToEnd = () => (ui.scroller.scrollTop = ui.scroller.scrollHeight);

  function afterRender(stick) {
    ui.hint.hidden = ui.messages.querySelector(".message") !== null;
    if (stick) scrollToEnd();
  }

  function scheduleDelivered() {
    clearTimeout(state.deliveredTimer);
    state.deliveredTimer = setTimeout(sendDelivered, DELIVERED_AFTER_MS);
  }

  function sendDelivered() {
    if (!state.welcomed || state.lastReplyId <= state.deliveredSent) return;
    if (sendFrame({ type: "delivered", up_to: state.lastReplyId })) state.deliveredSent = state.lastReplyId;
  }

  // ---- Sending

  function sendText(text) {
    const item = { client_id: newClientId(), text };
    writeOutbox([...readOutbox(), item]);
    clearQuickReplies();
    showPending(item);
    if (state.welcomed) sendFrame({ type: "message", ...item });
    afterRender(true);
  }

  function sendFromInput() {
    const text = ui.input.value.trim();
    if (!text) return;
    ui.input.value = "";
    fitInput();
    sendText(text);
  }

  function onInputKey(event) {
    if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
    event.preventDefault();
    sendFromInput();
  }

  const fitInput = () => (ui.input.rows = Math.min(5, ui.input.value.split("\n").length));

  // ---- Start

  function start() {
    if (new URLSearchParams(location.search).get("embed") === "1") {
      document.documentElement.classList.add("embed");
      document.querySelector(".page-header").hidden = true;
    }
    for (const item of readOutbox()) showPending(item); // from before a reload: still ours to send
    afterRender(true);
    ui.form.addEventListener("submit", (event) => {
      event.preventDefault();
      sendFromInput();
    });
    ui.input.addEventListener("keydown", onInputKey);
    ui.input.addEventListener("input", fitInput);
    window.addEventListener("online", () => state.socket || connect()); // no need to wait out the backoff
    setInterval(() => state.welcomed && sendFrame({ type: "ping" }), PING_EVERY_MS);
    connect();
  }

  start();
})();
