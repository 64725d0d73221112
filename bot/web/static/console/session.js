// Signing in and out, and the agent's name, load and availability in the header.

import { loadCallbacks } from "./callbacks.js";
import { showConversation } from "./conversation.js";
import { startLive, stopLive } from "./live.js";
import { resetNoticeProgress, showNoticeProgress } from "./notices.js";
import { resetOpsChat, showOpsAccess } from "./ops-chat.js";
import { LOGIN_PATH, api, showNotice, state, ui } from "./page.js";
import { refreshQueue } from "./queue.js";

// One session rule: any 401 ends the console and shows the login form.
export function showLogin(message) {
  if (document.body.dataset.console === "login") return;
  stopLive();
  resetConsole();
  ui.consoleView.hidden = true;
  ui.loginView.hidden = false;
  ui.loginError.textContent = message;
  document.body.dataset.console = "login";
  ui.username.focus();
}

export async function onLogin(event) {
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

export async function onLogout() {
  await api("POST", "/api/console/logout");
  showLogin("You are signed out.");
}

export async function enterConsole(agent) {
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
  resetOpsChat();
  resetNoticeProgress();
  showNotice("");
}

export function renderAgent(agent) {
  state.me = agent;
  ui.agentName.textContent = agent.display_name;
  const available = agent.status === "available";
  ui.statusToggle.textContent = available ? "Available" : "Away";
  ui.statusToggle.setAttribute("aria-pressed", String(available));
  showOpsAccess(agent);
  showNoticeProgress(agent);
  ui.reportsLink.hidden = !["ops", "manager"].includes(agent.role); // GET /console/reports
  renderLoad();
}

export function renderLoad() {
  const active = state.queue ? state.queue.mine.length : state.me.active_chats;
  ui.agentLoad.textContent = `${active} of ${state.me.capacity} chats`;
}

export async function toggleStatus() {
  const status = state.me.status === "available" ? "away" : "available";
  renderAgent(await api("PUT", "/api/console/me/status", { status }));
}
