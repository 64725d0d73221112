// The queue of waiting customers and the agent's own conversations.

import { openConversation, showDetail } from "./conversation.js";
import { buildTime, formatDuration, h, redrawList } from "./elements.js";
import { api, report, showNotice, state, ui } from "./page.js";
import { renderLoad } from "./session.js";

const TAKE_CONFLICT = "Someone else took it, or you are at capacity";

// One read at a time; events arriving meanwhile ask for one more read after it.
export function refreshQueue() {
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
  redrawList(ui.queue, ui.queueEmpty, waiting, buildQueueEntry);
  ui.queueCount.textContent = waiting.length ? `(${waiting.length})` : "";
  const waitText = typeof wait === "number" ? `expected wait ${wait} min` : "no wait estimate";
  ui.queueStats.textContent = `${agents} ${agents === 1 ? "agent" : "agents"} available · ${waitText}`;
  const surging = Boolean(surge && surge.active);
  ui.surge.hidden = !surging;
  ui.surgeReasons.replaceChildren(...(surging ? surge.reasons : []).map((reason) => h("li", {}, reason)));
  renderIncidents(queue.incidents || []);
  renderMine();
  renderLoad();
  tick();
}

// What the bot tells customers about each active incident, so agents say the same.
function renderIncidents(incidents) {
  ui.incidents.hidden = incidents.length === 0;
  ui.incidentList.replaceChildren(...incidents.map((incident) =>
    h("li", { class: "incident", data: { id: incident.id } },
      h("details", {},
        h("summary", {},
          h("strong", {}, `#${incident.id} ${incident.title}`),
          ` · severity ${incident.severity} · ${incident.scope}`,
          incident.expected_recovery && h("span", {}, " · back by ",
            buildTime(incident.expected_recovery, true))),
        h("p", { class: "incident-note" }, incident.customer_note)))));
}

export function renderMine() {
  const mine = state.queue ? state.queue.mine : [];
  redrawList(ui.mine, ui.mineEmpty, mine, buildMineEntry);
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
export function tick() {
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
