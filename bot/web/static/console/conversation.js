// The open conversation: its transcript, what the bot knew, and the agent's notes.

import { fitReply } from "./conversation-actions.js";
import { buildTime, h } from "./elements.js";
import { closeOpsChat } from "./ops-chat.js";
import { api, state, ui } from "./page.js";
import { renderMine } from "./queue.js";

const STACKED = window.matchMedia("(max-width: 60rem)"); // the narrow layout of console.css
const SENDER_LABELS = { customer: "Customer", bot: "Bot", agent: "Agent", system: "System" };
const STATE_LABELS = { waiting: "waiting", assigned: "taken", returned: "handed back to the bot",
  closed: "closed", left: "the customer left", callback: "the customer asked for a call-back" };
const CONVERSATION_CONTROLS = [ui.replyInput, ui.replySend, ui.noteInput, ui.handBack, ui.resolution, ui.closeButton];

// `onlyIfStillOpen`: a re-read after an event, dropped if the agent has moved on meanwhile.
export async function openConversation(id, onlyIfStillOpen = false) {
  const detail = await api("GET", `/api/console/handoffs/${id}`);
  const stillOpen = state.open && state.open.id === id;
  if (!state.me || (onlyIfStillOpen && !stillOpen)) return;
  showDetail(detail);
  // Opened by the agent on a narrow screen: the conversation is below the lists.
  if (!onlyIfStillOpen && STACKED.matches) ui.conversation.scrollIntoView({ block: "start" });
}

export function showDetail(detail) {
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

export function showConversation(detail) {
  if (detail) closeOpsChat(); // one thing in the main pane at a time
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
export function appendMessage(message) {
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

export function onMessageEvent(handoffId, message) {
  if (state.open && state.open.id === handoffId) {
    const stick = isNearEnd();
    appendMessage(message);
    if (stick) scrollToEnd();
  } else if (!message || message.sender !== "agent") { // not our own words from another tab
    state.unread.add(handoffId);
    renderMine();
  }
}

export const buildNote = (note) => h("li", { class: "note", data: { id: note.id } },
  h("p", { class: "note-by" }, `${note.agent} · `, buildTime(note.created_at, true)),
  h("p", { class: "text" }, note.text));

const isNearEnd = () => ui.transcript.scrollHeight - ui.transcript.scrollTop - ui.transcript.clientHeight < 80;
export const scrollToEnd = () => (ui.transcript.scrollTop = ui.transcript.scrollHeight);
