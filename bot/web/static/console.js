/*
 * Shopdesk agent console: a client of docs/console-api.md (JSON over fetch, events over
 * the WebSocket /ws/console).
 *
 * Why it is built like this:
 * - The server is the truth. A WebSocket event only says what changed; the page then
 *   re-reads it (the queue, one handoff). A 15 s poll of the queue covers lost events
 *   and dropped sockets, so a missed frame costs seconds, never a forgotten customer.
 * - Nothing is injected: whatever a customer, the bot or an agent wrote reaches the page
 *   as text (textContent, or strings appended by h() as text nodes) inside elements made
 *   with createElement, never as markup. The gateway's Content-Security-Policy (no inline
 *   script or style) is the second wall.
 * - One session rule: any 401 ends the console and shows the login form.
 * - No build step, no framework: the lists are short, so they are re-drawn whole,
 *   keeping the keyboard focus where the agent had it. Tests wait on body[data-console]
 *   (login | ready) and body[data-socket] (open | closed).
 */
(() => {
  "use strict";

  const POLL_MS = 15000;
  const NOTICE_MS = 6000;
  const FIRST_RETRY_MS = 500;
  const MAX_RETRY_MS = 15000;
  const STACKED = window.matchMedia("(max-width: 60rem)"); // the narrow layout of console.css
  const LOGIN_PATH = "/api/console/login";
  const TAKE_CONFLICT = "Someone else took it, or you are at capacity";
  const SENDER_LABELS = { customer: "Customer", bot: "Bot", agent: "Agent", system: "System" };
  const STATE_LABELS = { waiting: "waiting", assigned: "taken", returned: "handed back to the bot",
    closed: "closed", left: "the customer left", callback: "the customer asked for a call-back" };

  const byId = (id) => document.getElementById(id);
  const camel = (id) => id.replace(/-(\w)/g, (_, c) => c.toUpperCase());
  const ui = Object.fromEntries([
    "login-view", "login-form", "username", "password", "login-button", "login-error", "console-view",
    "agent-name", "agent-load", "status-toggle", "queue-stats", "logout", "surge", "surge-reasons",
    "console-notice", "queue", "queue-count", "queue-empty", "mine", "mine-empty", "mine-heading", "callbacks",
    "callbacks-empty", "callbacks-heading", "conversation-empty", "conversation", "conversation-title",
    "conversation-meta", "transcript", "reply-form", "reply-input", "reply-send", "summary", "kb-form",
    "kb-query", "kb-results", "notes", "note-form", "note-input", "hand-back", "close-form", "resolution",
    "close-button",
  ].map((id) => [camel(id), byId(id)]));
  const CONVERSATION_CONTROLS = [ui.replyInput, ui.replySend, ui.noteInput, ui.handBack, ui.resolution, ui.closeButton];

  const state = {
    me: null, // the signed-in Agent; null while the login form shows
    queue: null, queueAt: 0, // the last Queue read, and performance.now() at that moment
    open: null, // the HandoffDetail in the main pane
    shown: new Set(), // message ids in the open transcript
    unread: new Set(), // handoff ids with messages the agent has not looked at
    drafts: new Map(), // handoff id -> unsent reply, kept while switching conversations
    socket: null, retries: 0, retryTimer: 0, pollTimer: 0, tickTimer: 0, noticeTimer: 0,
    queueLoading: null, queueAgain: false, busy: false,
  };

  // ---- Talking to the API. Failures are Errors with the HTTP status (0: no answer).

  const failure = (status, message) => Object.assign(new Error(message), { status });

  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const init = { method, headers, credentials: "same-origin" };
    if (body !== undefined) init.body = JSON.stringify(body);
    const response = await fetch(path, init).catch(() => {
      throw failure(0, "Cannot reach the server. Check the connection and try again.");
    });
    if (response.status === 401 && path !== LOGIN_PATH) {
      showLogin(state.me ? "Your session has ended. Please sign in again." : "");
    }
    if (response.ok) return response.status === 204 ? null : response.json();
    const detail = await response.json().then((answer) => answer.detail, () => null);
    const message = typeof detail === "string" && detail ? detail : `The server answered ${response.status}.`;
    throw failure(response.status, message);
  }

  // Shows what went wrong, unless the session ended (the login form says so).
  function report(error) {
    if (error.status === undefined) console.error(error);
    if (error.status !== 401) showNotice(error.status === undefined ? "Something went wrong." : error.message);
  }

  // Wraps an action so that its failure becomes a notice instead of an unhandled rejection.
  const guarded = (work) => (...args) => Promise.resolve().then(() => work(...args)).catch(report);

  function showNotice(text) {
    ui.consoleNotice.textContent = text;
    clearTimeout(state.noticeTimer);
    if (text) state.noticeTimer = setTimeout(showNotice, NOTICE_MS, "");
  }

  // ---- Login and session

  function showLogin(message) {
    if (document.body.dataset.console === "login") return;
    stopLive();
    resetConsole();
    ui.consoleView.hidden = true;
    ui.loginView.hidden = false;
    ui.loginError.textContent = message;
    document.body.dataset.console = "login";
    ui.username.focus();
  }

  async function onLogin(event) {
    event.preventDefault();
    const username = ui.username.value.trim();
    const password = ui.password.value;
    ui.loginError.textContent = username && password ? "" : "Enter your username and password.";
    if (!username || !password) return;
    ui.loginButton.disabled = true;
    try {
      const agent = await api("POST", LOGIN_PATH, { username, password });
      ui.password.value = "";
      await enterConsole(agent);
    } catch (error) {
      ui.loginError.textContent = error.status === 401 ? "Wrong username or password." : error.message;
    } finally {
      ui.loginButton.disabled = false;
    }
  }

  async function onLogout() {
    await api("POST", "/api/console/logout");
    showLogin("You are signed out.");
  }

  async function enterConsole(agent) {
    renderAgent(agent);
    ui.loginView.hidden = true;
    ui.consoleView.hidden = false;
    document.body.dataset.console = "loading";
    await Promise.all([refreshQueue(), loadCallbacks()]);
    if (!state.me) return; // a 401 while loading: the login form is back
    document.body.dataset.console = "ready";
    startLive();
  }

  function resetConsole() {
    Object.assign(state, { me: null, queue: null, open: null });
    state.unread.clear();
    state.drafts.clear();
    const lists = [ui.queue, ui.mine, ui.callbacks, ui.surgeReasons, ui.kbResults, ui.transcript, ui.notes, ui.summary];
    for (const list of lists) list.replaceChildren();
    ui.replyInput.value = "";
    showConversation(null);
    showNotice("");
  }

  // ---- The agent and their availability

  function renderAgent(agent) {
    state.me = agent;
    ui.agentName.textContent = agent.display_name;
    const available = agent.status === "available";
    ui.statusToggle.textContent = available ? "Available" : "Away";
    ui.statusToggle.setAttribute("aria-pressed", String(available));
    renderLoad();
  }

  function renderLoad() {
    const active = state.queue ? state.queue.mine.length : state.me.active_chats;
    ui.agentLoad.textContent = `${active} of ${state.me.capacity} chats`;
  }

  async function toggleStatus() {
    const status = state.me.status === "available" ? "away" : "available";
    renderAgent(await api("PUT", "/api/console/me/status", { status }));
  }

  // ---- Queue and my conversations

  // One read at a time; events arriving meanwhile ask for one more read after it.
  function refreshQueue() {
    if (state.queueLoading) {
      state.queueAgain = true;
      return state.queueLoading;
    }
    state.queueLoading = loadQueue().catch(report).finally(() => {
      state.queueLoading = null;
      if (state.queueAgain && state.me) refreshQueue();
      state.queueAgain = false;
    });
    return state.queueLoading;
  }

  async function loadQueue() {
    const queue = await api("GET", "/api/console/queue");
    if (!state.me) return;
    Object.assign(state, { queue, queueAt: performance.now() });
    const { waiting, agents_available: agents, expected_wait_minutes: wait, surge } = queue;
    keepFocus(ui.queue, () => ui.queue.replaceChildren(...waiting.map(buildQueueEntry)));
    ui.queueEmpty.hidden = waiting.length > 0;
    ui.queueCount.textContent = waiting.length ? `(${waiting.length})` : "";
    const waitText = typeof wait === "number" ? `expected wait ${wait} min` : "no wait estimate";
    ui.queueStats.textContent = `${agents} ${agents === 1 ? "agent" : "agents"} available · ${waitText}`;
    const surging = Boolean(surge && surge.active);
    ui.surge.hidden = !surging;
    ui.surgeReasons.replaceChildren(...(surging ? surge.reasons : []).map((reason) => h("li", {}, reason)));
    renderMine();
    renderLoad();
    tick();
  }

  function renderMine() {
    const mine = state.queue ? state.queue.mine : [];
    keepFocus(ui.mine, () => ui.mine.replaceChildren(...mine.map(buildMineEntry)));
    ui.mineEmpty.hidden = mine.length > 0;
  }

  function buildQueueEntry(entry) {
    const reasonId = `queue-reason-${entry.id}`;
    return h("li", { class: "queue-entry entry", data: { id: entry.id } },
      h("p", { class: "entry-title", id: reasonId }, entry.reason_detail),
      h("p", { class: "entry-facts" }, h("span", {}, entry.customer), h("span", {}, entry.channel),
        h("span", { class: "waited", data: { seconds: entry.waited_seconds } }),
        h("span", {}, `priority ${Number(entry.priority).toFixed(1)}`)),
      entry.last_message && h("p", { class: "entry-preview" }, entry.last_message),
      h("button", { type: "button", class: "take primary", "aria-describedby": reasonId,
        onClick: (button) => takeHandoff(entry.id, button) }, "Take"));
  }

  // The whole entry is one button: a click, Enter or Space opens the conversation.
  function buildMineEntry(entry) {
    const unread = state.unread.has(entry.id);
    const current = Boolean(state.open && state.open.id === entry.id);
    const button = h("button", { type: "button", class: "mine-entry entry", "aria-current": current,
      data: { id: entry.id }, onClick: () => openConversation(entry.id) },
      h("span", { class: "entry-title" }, entry.customer),
      unread && h("span", { class: "unread-badge" }, "New messages"),
      h("span", { class: "entry-facts" }, `${entry.channel} · ${entry.reason_detail}`),
      entry.last_message && h("span", { class: "entry-preview" }, entry.last_message));
    if (unread) button.dataset.unread = "true";
    return h("li", {}, button);
  }

  // Waiting times tick between reads of the queue: what the server said, plus the time since.
  function tick() {
    const since = (performance.now() - state.queueAt) / 1000;
    for (const waited of ui.queue.querySelectorAll(".waited")) {
      waited.textContent = `waited ${formatDuration(Number(waited.dataset.seconds) + since)}`;
    }
  }

  async function takeHandoff(id, button) {
    button.disabled = true;
    state.unread.delete(id);
    const detail = await api("POST", `/api/console/handoffs/${id}/take`).catch((error) => {
      button.disabled = false;
      if (error.status !== 409) throw error;
      showNotice(TAKE_CONFLICT);
    });
    if (detail && state.me) {
      // The customer hears of the take before this answer arrives, and may write at once:
      // that message's event found no open conversation and only marked it unread.
      const missed = state.unread.has(id);
      showDetail(detail);
      ui.replyInput.focus();
      if (missed) await openConversation(id, true);
    }
    await refreshQueue();
  }

  // ---- Call-backs

  async function loadCallbacks() {
    const callbacks = await api("GET", "/api/console/callbacks").catch(report);
    if (!state.me || !Array.isArray(callbacks)) return;
    const waiting = callbacks.filter((callback) => !callback.done);
    keepFocus(ui.callbacks, () => ui.callbacks.replaceChildren(...waiting.map(buildCallback)));
    ui.callbacksEmpty.hidden = waiting.length > 0;
  }

  function buildCallback(callback) {
    const textId = `callback-text-${callback.id}`;
    return h("li", { class: "callback entry", data: { id: callback.id } },
      h("p", { class: "entry-title", id: textId }, callback.message),
      h("p", { class: "entry-facts" }, `conversation ${callback.conversation_id} · `,
        buildTime(callback.created_at, true)),
      h("button", { type: "button", class: "callback-done secondary", "aria-describedby": textId,
        onClick: (button) => markDone(callback.id, button) }, "Done"));
  }

  async function markDone(id, button) {
    button.disabled = true;
    await api("POST", `/api/console/callbacks/${id}/done`).catch((error) => {
      button.disabled = false;
      throw error;
    });
    const hadFocus = button === document.activeElement;
    button.closest("li").remove();
    ui.callbacksEmpty.hidden = ui.callbacks.children.length > 0;
    if (hadFocus) ui.callbacksHeading.focus(); // not lost to the page body
  }

  // ---- The open conversation

  // `onlyIfStillOpen`: a re-read after an event, dropped if the agent has moved on meanwhile.
  async function openConversation(id, onlyIfStillOpen = false) {
    const detail = await api("GET", `/api/console/handoffs/${id}`);
    const stillOpen = state.open && state.open.id === id;
    if (!state.me || (onlyIfStillOpen && !stillOpen)) return;
    showDetail(detail);
    // Opened by the agent on a narrow screen: the conversation is below the lists.
    if (!onlyIfStillOpen && STACKED.matches) ui.conversation.scrollIntoView({ block: "start" });
  }

  function showDetail(detail) {
    const switching = !state.open || state.open.id !== detail.id;
    if (switching) switchDraft(detail.id);
    const stick = switching || isNearEnd();
    state.open = detail;
    state.unread.delete(detail.id);
    showConversation(detail);
    renderSummary(detail.summary || {});
    state.shown.clear();
    ui.transcript.replaceChildren();
    for (const message of detail.transcript || []) appendMessage(message);
    ui.notes.replaceChildren(...(detail.notes || []).map(buildNote));
    if (switching) ui.kbResults.replaceChildren();
    if (stick) scrollToEnd();
    renderMine();
  }

  function showConversation(detail) {
    ui.conversation.hidden = !detail;
    ui.conversationEmpty.hidden = Boolean(detail);
    if (!detail) {
      delete ui.conversation.dataset.id;
      delete ui.conversation.dataset.state;
      return;
    }
    ui.conversation.dataset.id = String(detail.id);
    ui.conversation.dataset.state = detail.state;
    ui.conversationTitle.textContent = `${detail.customer} · ${detail.channel}`;
    const who = detail.agent ? ` · with ${detail.agent}` : "";
    ui.conversationMeta.textContent = `${detail.reason_detail} · ${STATE_LABELS[detail.state] || detail.state}${who}`;
    for (const control of CONVERSATION_CONTROLS) control.disabled = detail.state !== "assigned";
  }

  function switchDraft(nextId) {
    if (state.open) state.drafts.set(state.open.id, ui.replyInput.value);
    ui.replyInput.value = state.drafts.get(nextId) || "";
    fitReply();
  }

  function renderSummary(summary) {
    const slots = Object.entries(summary.slots || {}).map(([name, value]) => `${name}: ${formatValue(value)}`);
    const rows = [
      ["Customer", [summary.customer_name || "not given"]],
      ["Verified orders", listOrNone(summary.verified_orders)],
      ["Intents", [listOrNone(summary.intents).join(" → ")]],
      ["Slots", slots.length ? slots : ["none"]],
      ["Reason", [summary.reason_detail || "—"]],
    ];
    ui.summary.replaceChildren();
    for (const [term, values] of rows) {
      ui.summary.append(h("dt", {}, term), ...values.map((value) => h("dd", {}, value)));
    }
  }

  const listOrNone = (items) => (Array.isArray(items) && items.length ? items.map(String) : ["none"]);
  const formatValue = (value) => (typeof value === "string" ? value : JSON.stringify(value));

  // Messages stay in id order and appear once, however they arrive (history, POST answer, event).
  function appendMessage(message) {
    if (!message || message.id === undefined || state.shown.has(message.id)) return;
    state.shown.add(message.id);
    const buttons = Array.isArray(message.buttons) ? message.buttons.filter((b) => b && b.title) : [];
    const element = h("div", { class: "message", data: { sender: message.sender, id: message.id } },
      h("div", { class: "bubble" },
        h("span", { class: "sender" }, SENDER_LABELS[message.sender] || message.sender),
        typeof message.text === "string" && h("p", { class: "text" }, message.text),
        buttons.length > 0 && h("p", { class: "offered" }, `Offered: ${buttons.map((b) => b.title).join(" | ")}`)),
      buildTime(message.created_at, false));
    const later = [...ui.transcript.children].find((node) => Number(node.dataset.id) > Number(message.id));
    ui.transcript.insertBefore(element, later || null);
  }

  function onMessageEvent(handoffId, message) {
    if (state.open && state.open.id === handoffId) {
      const stick = isNearEnd();
      appendMessage(message);
      if (stick) scrollToEnd();
    } else if (!message || message.sender !== "agent") { // not our own words from another tab
      state.unread.add(handoffId);
      renderMine();
    }
  }

  const buildNote = (note) => h("li", { class: "note", data: { id: note.id } },
    h("p", { class: "note-by" }, `${note.agent} · `, buildTime(note.created_at, true)),
    h("p", { class: "text" }, note.text));

  const isNearEnd = () => ui.transcript.scrollHeight - ui.transcript.scrollTop - ui.transcript.clientHeight < 80;
  const scrollToEnd = () => (ui.transcript.scrollTop = ui.transcript.scrollHeight);

  // ---- Acting on the open conversation (one action at a time: Enter held down sends once)

  const act = (work) => guarded(async () => {
    if (state.busy || !state.open || state.open.state !== "assigned") return;
    state.busy = true;
    try {
      await work(state.open.id);
    } finally {
      state.busy = false;
    }
  });

  const sendReply = act(async (id) => {
    const text = ui.replyInput.value.trim();
    if (!text) return;
    const message = await api("POST", `/api/console/handoffs/${id}/messages`, { text });
    if (!state.open || state.open.id !== id) return state.drafts.delete(id); // sent: not a draft any more
    ui.replyInput.value = "";
    fitReply();
    appendMessage(message);
    scrollToEnd();
  });

  function onReplyKey(event) {
    if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
    event.preventDefault();
    sendReply();
  }

  const fitReply = () => (ui.replyInput.rows = Math.max(2, Math.min(8, ui.replyInput.value.split("\n").length)));

  const addNote = act(async (id) => {
    const text = ui.noteInput.value.trim();
    if (!text) return;
    const note = await api("POST", `/api/console/handoffs/${id}/notes`, { text });
    if (!state.open || state.open.id !== id) return;
    ui.noteInput.value = "";
    if (!ui.notes.querySelector(`[data-id="${CSS.escape(String(note.id))}"]`)) ui.notes.append(buildNote(note));
  });

  const handBack = act(async (id) => {
    await api("POST", `/api/console/handoffs/${id}/hand-back`, { note: null });
    finish(id, "Handed back to the bot.");
  });

  const closeConversation = act(async (id) => {
    const choice = ui.resolution.selectedOptions[0];
    await api("POST", `/api/console/handoffs/${id}/close`, { resolution: choice.value });
    finish(id, `Closed: ${choice.textContent.toLowerCase()}. The customer is asked for a rating.`);
  });

  // The conversation is no longer ours: it leaves the list and the main pane at once.
  function finish(id, notice) {
    const hadFocus = ui.conversation.contains(document.activeElement);
    state.drafts.delete(id);
    state.unread.delete(id);
    if (state.queue) state.queue.mine = state.queue.mine.filter((entry) => entry.id !== id);
    if (state.open && state.open.id === id) {
      state.open = null;
      ui.replyInput.value = "";
      showConversation(null);
    }
    renderMine();
    showNotice(notice);
    if (hadFocus) ui.mineHeading.focus(); // the pane it was in is gone
    refreshQueue();
  }

  // ---- Knowledge base: an answer goes into the composer to be edited, never straight out.

  async function searchKnowledge() {
    const q = ui.kbQuery.value.trim();
    if (!q) return;
    const articles = await api("GET", `/api/console/knowledge?q=${encodeURIComponent(q)}`);
    ui.kbResults.replaceChildren(...articles.map(buildArticle));
    if (!articles.length) ui.kbResults.append(h("li", { class: "empty" }, "No articles match."));
  }

  function buildArticle(article) {
    const titleId = `kb-title-${article.id}`;
    return h("li", { class: "kb-result", data: { id: article.id } },
      h("p", { class: "kb-title", id: titleId }, article.title),
      h("p", { class: "kb-answer text" }, article.answer),
      h("button", { type: "button", class: "kb-use secondary", "aria-describedby": titleId,
        onClick: () => useAnswer(article.answer) }, "Use in reply"));
  }

  function useAnswer(answer) {
    const current = ui.replyInput.value.trimEnd();
    ui.replyInput.value = current ? `${current}\n\n${answer}` : answer;
    fitReply();
    ui.replyInput.focus();
    ui.replyInput.setSelectionRange(ui.replyInput.value.length, ui.replyInput.value.length);
  }

  // ---- Real time: socket events, reconnect with backoff, and the poll behind them

  function refreshLists() {
    refreshQueue();
    loadCallbacks(); // a customer who stops waiting may leave a call-back request
  }

  function startLive() {
    connect();
    state.pollTimer = setInterval(refreshLists, POLL_MS);
    state.tickTimer = setInterval(tick, 1000);
  }

  function stopLive() {
    clearInterval(state.pollTimer);
    clearInterval(state.tickTimer);
    clearTimeout(state.retryTimer);
    const socket = state.socket;
    state.socket = null; // first, so that its close event is ignored
    if (socket) socket.close();
    state.retries = 0;
    document.body.dataset.socket = "closed";
  }

  function connect() {
    clearTimeout(state.retryTimer);
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}/ws/console`);
    state.socket = socket;
    socket.addEventListener("open", () => socket === state.socket && onSocketOpen());
    socket.addEventListener("message", (event) => socket === state.socket && onEvent(event.data));
    socket.addEventListener("close", () => onSocketGone(socket));
    socket.addEventListener("error", () => onSocketGone(socket));
  }

  function onSocketOpen() {
    state.retries = 0;
    document.body.dataset.socket = "open";
    refreshLists(); // catch up on whatever happened while the socket was down
    if (state.open) guarded(openConversation)(state.open.id, true);
  }

  function onSocketGone(socket) {
    if (socket !== state.socket) return; // error and close both come; act once
    state.socket = null;
    socket.close();
    document.body.dataset.socket = "closed";
    const delay = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(state.retries, 10));
    state.retries += 1;
    // Jitter, so that consoles cut off together do not all come back at the same instant.
    state.retryTimer = setTimeout(reconnect, delay * (0.75 + Math.random() * 0.5));
  }

  // A socket refused for an ended session looks like any dropped one: ask /me first.
  async function reconnect() {
    const agent = await api("GET", "/api/console/me").catch(() => null); // a 401 shows the login form
    if (agent && state.me) renderAgent(agent);
    if (state.me && !state.socket) connect();
  }

  function onEvent(raw) {
    let event = null;
    try {
      event = JSON.parse(raw);
    } catch {} // not JSON: ignored like any event this page does not know
    const type = event && event.type;
    if (type === "queue") refreshLists();
    if (type === "message") onMessageEvent(event.handoff_id, event.message);
    if (type === "handoff") {
      if (state.open && state.open.id === event.handoff_id) guarded(openConversation)(event.handoff_id, true);
      refreshQueue();
    }
  }

  // ---- Small helpers

  // Builds an element. Strings among the children become text nodes, never markup; children
  // that are null, undefined, false or "" are left out. onClick is called with the element.
  function h(tag, props, ...children) {
    const element = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (key === "class") element.className = value;
      else if (key === "data") Object.assign(element.dataset, value);
      else if (key === "onClick") element.addEventListener("click", guarded(() => value(element)));
      else if (value !== false && value !== null && value !== undefined) element.setAttribute(key, String(value));
    }
    element.append(...children.filter((child) => ![null, undefined, false, ""].includes(child)));
    return element;
  }

  function formatDuration(total) {
    const seconds = Math.max(0, Math.floor(total));
    return `${String(Math.floor(seconds / 60)).padStart(2, "0")}:${String(seconds % 60).padStart(2, "0")}`;
  }

  function buildTime(value, withDate) {
    // Python writes microseconds; not every browser parses more than milliseconds.
    const date = typeof value === "string" ? new Date(value.replace(/(\.\d{3})\d+/, "$1")) : null;
    if (!date || Number.isNaN(date.getTime())) return "";
    const options = withDate ? { dateStyle: "short", timeStyle: "short" } : { hour: "2-digit", minute: "2-digit" };
    return h("time", { class: "meta", datetime: date.toISOString(), title: date.toLocaleString() },
      date.toLocaleString([], options));
  }

  // Re-drawing a list must not throw away the keyboard focus of the agent using it.
  function keepFocus(list, redraw) {
    const focused = list.contains(document.activeElement) ? document.activeElement : null;
    const holder = focused && focused.closest("[data-id]");
    const cls = focused && focused.classList[0];
    redraw();
    const again = holder && list.querySelector(`[data-id="${CSS.escape(holder.dataset.id)}"]`);
    if (!again) return;
    const target = !cls || again.classList.contains(cls) ? again : again.querySelector(`.${CSS.escape(cls)}`);
    if (target) target.focus();
  }

  function onSubmit(form, work) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      guarded(work)();
    });
  }

  // ---- Start

  async function start() {
    ui.loginForm.addEventListener("submit", onLogin);
    ui.logout.addEventListener("click", guarded(onLogout));
    ui.statusToggle.addEventListener("click", guarded(toggleStatus));
    ui.replyInput.addEventListener("keydown", onReplyKey);
    ui.replyInput.addEventListener("input", fitReply);
    ui.handBack.addEventListener("click", handBack);
    onSubmit(ui.replyForm, sendReply);
    onSubmit(ui.noteForm, addNote);
    onSubmit(ui.kbForm, searchKnowledge);
    onSubmit(ui.closeForm, closeConversation);
    window.addEventListener("online", () => state.me && !state.socket && connect()); // skip the backoff
    showConversation(null);
    try {
      await enterConsole(await api("GET", "/api/console/me"));
    } catch (error) {
      if (error.status !== 401) showLogin(error.message);
    }
  }

  start();
})();
