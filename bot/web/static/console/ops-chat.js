// The Ops chat: an ops or manager's own conversation with the bot, and the link of their
// Telegram chat. The gateway decides who may (others get 403) and tells the bot the role;
// the page only offers it to ops and managers. Buttons send what the bot offered (by the
// message and the button's place, never a payload the page makes up); typed text is text.

import { showConversation } from "./conversation.js";
import { buildTime, h } from "./elements.js";
import { api, guarded, onSubmit, showNotice, state, ui } from "./page.js";
import { renderMine } from "./queue.js";

const STAFF_ROLES = new Set(["ops", "manager"]);
const SENDER_LABELS = { customer: "You", bot: "Bot", agent: "Agent", system: "System" };
const STACKED = window.matchMedia("(max-width: 60rem)"); // the narrow layout of console.css
const LINK_POLL_MS = 5000; // while a code is shown: has it been used in Telegram yet?

const byId = (id) => document.getElementById(id);
const ops = {
  panel: byId("ops-panel"), open: byId("ops-open"), chat: byId("ops-chat"), close: byId("ops-close"),
  transcript: byId("ops-transcript"), form: byId("ops-form"), input: byId("ops-input"), send: byId("ops-send"),
  telegramStatus: byId("telegram-status"), telegramCode: byId("telegram-code"),
  link: byId("telegram-link"), unlink: byId("telegram-unlink"),
};
const chat = {
  visible: false, busy: false,
  shown: new Map(), // message id -> its buttons, for the ones on the last message
  linkedAt: null, codeFor: null, // when the member's chat was linked: before the code, and now
  codeTimer: 0, pollTimer: 0,
};

export function setUpOpsChat() {
  ops.open.addEventListener("click", guarded(openOpsChat));
  ops.close.addEventListener("click", () => closeOpsChat());
  ops.input.addEventListener("keydown", onKey);
  onSubmit(ops.form, sendText);
  ops.link.addEventListener("click", guarded(makeCode));
  ops.unlink.addEventListener("click", guarded(unlinkTelegram));
}

// From the signed-in member, read again after every /me: a role change shows at once.
export function showOpsAccess(agent) {
  const allowed = Boolean(agent) && STAFF_ROLES.has(agent.role);
  ops.panel.hidden = !allowed;
  if (!allowed) closeOpsChat();
}

async function openOpsChat() {
  if (state.open) state.drafts.set(state.open.id, ui.replyInput.value); // kept for coming back
  state.open = null;
  showConversation(null);
  ui.conversationEmpty.hidden = true;
  ops.chat.hidden = false;
  ops.open.setAttribute("aria-current", "true");
  chat.visible = true;
  renderMine();
  ops.input.focus();
  if (STACKED.matches) ops.chat.scrollIntoView({ block: "start" }); // below the lists
  await Promise.all([loadChat(), loadLink()]);
}

// When a customer's conversation opens in its place, or the member closes it.
export function closeOpsChat() {
  if (!chat.visible) return;
  chat.visible = false;
  ops.chat.hidden = true;
  ops.open.removeAttribute("aria-current");
  hideCode();
  if (!state.open) ui.conversationEmpty.hidden = false;
}

export function resetOpsChat() {
  closeOpsChat();
  chat.shown.clear();
  ops.transcript.replaceChildren();
  ops.input.value = "";
  ops.panel.hidden = true;
}

// The gateway answered something later (a message kept while the bot was away).
export function onOpsChatEvent() {
  if (chat.visible) guarded(loadChat)();
}

async function loadChat() {
  const current = await api("GET", "/api/console/ops-chat");
  if (!chat.visible) return;
  chat.shown.clear();
  ops.transcript.replaceChildren();
  addMessages(current.messages);
}

function addMessages(messages) {
  const stick = isNearEnd();
  for (const message of messages || []) appendMessage(message);
  renderChoices();
  if (stick) scrollToEnd();
}

function appendMessage(message) {
  if (!message || message.id === undefined || chat.shown.has(message.id)) return;
  const buttons = Array.isArray(message.buttons) ? message.buttons.filter((b) => b && typeof b.title === "string") : [];
  chat.shown.set(message.id, buttons);
  const element = h("div", { class: "message", data: { sender: message.sender, id: message.id } },
    h("div", { class: "bubble" },
      h("span", { class: "sender" }, SENDER_LABELS[message.sender] || message.sender),
      typeof message.text === "string" && h("p", { class: "text" }, message.text)),
    buildTime(message.created_at, false));
  const later = [...ops.transcript.children].find((node) => Number(node.dataset.id) > Number(message.id));
  ops.transcript.insertBefore(element, later || null);
}

// The bot's choices are buttons on its last message only: older ones are history.
function renderChoices() {
  for (const group of ops.transcript.querySelectorAll(".quick-replies")) group.remove();
  const last = ops.transcript.lastElementChild;
  if (!last || last.dataset.sender === "customer") return;
  const id = Number(last.dataset.id);
  const buttons = chat.shown.get(id) || [];
  if (!buttons.length) return;
  last.append(h("div", { class: "quick-replies", role: "group", "aria-label": "Choices" },
    ...buttons.map((button, index) => h("button", { type: "button", onClick: () => press(id, index) }, button.title))));
}

async function talk(send) {
  if (chat.busy) return false;
  chat.busy = true;
  ops.send.disabled = true;
  ops.chat.dataset.busy = "true";
  try {
    const answer = await send();
    if (chat.visible) addMessages(answer.messages);
    return true;
  } finally {
    chat.busy = false;
    ops.send.disabled = false;
    delete ops.chat.dataset.busy;
  }
}

async function sendText() {
  const text = ops.input.value.trim();
  if (!text) return;
  // Cleared only once the gateway has it: a refusal leaves the words to send again.
  if (await talk(() => api("POST", "/api/console/ops-chat/messages", { text }))) ops.input.value = "";
}

async function press(messageId, index) {
  await talk(() => api("POST", "/api/console/ops-chat/buttons", { message_id: messageId, index }));
  ops.input.focus();
}

function onKey(event) {
  if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
  event.preventDefault();
  guarded(sendText)();
}

// ---- Telegram: one click to get a code (shown once), one click to unlink.

async function loadLink() {
  const link = await api("GET", "/api/console/telegram-link");
  if (chat.visible) renderLink(link);
  return link;
}

function renderLink(link) {
  let status = "Telegram is not connected to this shop.";
  if (link.telegram && link.linked) {
    status = "Your Telegram chat is linked: ask the bot there too.";
  } else if (link.telegram) {
    status = "Link your Telegram chat to ask the bot from your phone.";
  }
  ops.telegramStatus.replaceChildren(status,
    link.linked && link.linked_at ? h("span", { class: "meta" }, " Since ", buildTime(link.linked_at, true)) : "");
  if (chat.pollTimer && link.linked && link.linked_at !== chat.codeFor) { // the code was used
    hideCode();
    showNotice("Your Telegram chat is linked.");
  }
  ops.link.hidden = !link.telegram;
  ops.link.textContent = chat.pollTimer ? "New code" : link.linked ? "Link another chat" : "Link Telegram";
  ops.unlink.hidden = !link.linked;
  chat.linkedAt = link.linked_at;
}

async function makeCode() {
  const issued = await api("POST", "/api/console/telegram-link/code");
  if (!chat.visible) return;
  ops.telegramCode.replaceChildren(
    h("code", { class: "code" }, issued.code),
    h("span", { class: "instruction" }, issued.instruction));
  ops.telegramCode.hidden = false;
  clearTimeout(chat.codeTimer);
  const left = new Date(issued.expires_at.replace(/(\.\d{3})\d+/, "$1")).getTime() - Date.now();
  chat.codeTimer = setTimeout(hideCode, Math.max(0, left));
  clearInterval(chat.pollTimer);
  chat.codeFor = chat.linkedAt; // a link made since is this code's
  chat.pollTimer = setInterval(() => loadLink().catch(() => hideCode()), LINK_POLL_MS);
  ops.link.textContent = "New code";
}

async function unlinkTelegram() {
  await api("DELETE", "/api/console/telegram-link");
  hideCode();
  showNotice("Your Telegram chat is unlinked: the bot answers it as a customer now.");
  await loadLink();
}

function hideCode() {
  clearTimeout(chat.codeTimer);
  clearInterval(chat.pollTimer);
  chat.codeTimer = chat.pollTimer = 0;
  ops.telegramCode.hidden = true;
  ops.telegramCode.replaceChildren();
}

const isNearEnd = () => ops.transcript.scrollHeight - ops.transcript.scrollTop - ops.transcript.clientHeight < 80;
const scrollToEnd = () => (ops.transcript.scrollTop = ops.transcript.scrollHeight);
