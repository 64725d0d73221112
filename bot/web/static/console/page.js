// What every part of the console shares: the page's elements, its state, the API and notices.
// It imports nothing, so it is ready before any module that uses it at load time.

const NOTICE_MS = 6000;
export const LOGIN_PATH = "/api/console/login";

const byId = (id) => document.getElementById(id);
const camel = (id) => id.replace(/-(\w)/g, (_, c) => c.toUpperCase());
export const ui = Object.fromEntries([
  "login-view", "login-form", "username", "password", "login-button", "login-error", "console-view",
  "agent-name", "agent-load", "status-toggle", "queue-stats", "reports-link", "logout", "surge", "surge-reasons",
  "incidents", "incident-list",
  "console-notice", "queue", "queue-count", "queue-empty", "mine", "mine-empty", "mine-heading", "callbacks",
  "callbacks-empty", "callbacks-heading", "conversation-empty", "conversation", "conversation-title",
  "conversation-meta", "transcript", "reply-form", "reply-input", "reply-send", "summary", "kb-form",
  "kb-query", "kb-search", "kb-results", "notes", "note-form", "note-input", "hand-back", "close-form",
  "resolution", "close-button",
].map((id) => [camel(id), byId(id)]));

export const state = {
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

let endSession = () => {};
// What a 401 does: main.js sets it to show the login form (session.js).
export const onSessionEnd = (handler) => (endSession = handler);

const failure = (status, message) => Object.assign(new Error(message), { status });

export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const init = { method, headers, credentials: "same-origin" };
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await fetch(path, init).catch(() => {
    throw failure(0, "Cannot reach the server. Check the connection and try again.");
  });
  if (response.status === 401 && path !== LOGIN_PATH) {
    endSession(state.me ? "Your session has ended. Please sign in again." : "");
  }
  if (response.ok) return response.status === 204 ? null : response.json();
  const detail = await response.json().then((answer) => answer.detail, () => null);
  const message = typeof detail === "string" && detail ? detail : `The server answered ${response.status}.`;
  throw failure(response.status, message);
}

// Shows what went wrong, unless the session ended (the login form says so).
export function report(error) {
  if (error.status === undefined) console.error(error);
  if (error.status !== 401) showNotice(error.status === undefined ? "Something went wrong." : error.message);
}

// Wraps an action so that its failure becomes a notice instead of an unhandled rejection.
export const guarded = (work) => (...args) => Promise.resolve().then(() => work(...args)).catch(report);

export function showNotice(text) {
  ui.consoleNotice.textContent = text;
  clearTimeout(state.noticeTimer);
  if (text) state.noticeTimer = setTimeout(showNotice, NOTICE_MS, "");
}

export function onSubmit(form, work) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(work)();
  });
}
