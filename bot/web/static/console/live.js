// Real time: socket events, reconnect with backoff, and the poll behind them.

import { loadCallbacks } from "./callbacks.js";
import { onMessageEvent, openConversation } from "./conversation.js";
import { onOpsChatEvent } from "./ops-chat.js";
import { api, guarded, state } from "./page.js";
import { refreshQueue, tick } from "./queue.js";
import { renderAgent } from "./session.js";

const POLL_MS = 15000;
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 15000;

function refreshLists() {
  refreshQueue();
  loadCallbacks(); // a customer who stops waiting may leave a call-back request
}

export function startLive() {
  connect();
  state.pollTimer = setInterval(refreshLists, POLL_MS);
  state.tickTimer = setInterval(tick, 1000);
}

export function stopLive() {
  clearInterval(state.pollTimer);
  clearInterval(state.tickTimer);
  clearTimeout(state.retryTimer);
  const socket = state.socket;
  state.socket = null; // first, so that its close event is ignored
  if (socket) socket.close();
  state.retries = 0;
  document.body.dataset.socket = "closed";
}

export function connect() {
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
  if (type === "ops_chat") onOpsChatEvent();
  if (type === "handoff") {
    if (state.open && state.open.id === event.handoff_id) guarded(openConversation)(event.handoff_id, true);
    refreshQueue();
  }
}
