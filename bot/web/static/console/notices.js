// Notices to affected customers: how far each incident's latest fan-out has got, in the
// same words the bot uses in chat ("incident 3: 1,204 of 3,980 notices sent, …"). For ops
// and managers only: the gateway refuses everyone else (403), and the page does not ask.
// It is read while shown, more often while a fan-out is under way; a 429 only waits.

import { h, redrawList } from "./elements.js";
import { api, state } from "./page.js";

const STAFF_ROLES = new Set(["ops", "manager"]);
const RUNNING_MS = 5000; // a fan-out is under way: about 110 notices between reads
const IDLE_MS = 30000;
const OCCASIONS = {
  declared: "declared", new_estimate: "new estimate", new_note: "new note", resolved: "resolved",
};

const byId = (id) => document.getElementById(id);
const panel = { section: byId("notices-panel"), list: byId("notices"), empty: byId("notices-empty") };
let timer = 0;
let allowed = false;

// From the signed-in member, read again after every /me: a role change shows at once.
export function showNoticeProgress(agent) {
  const now = Boolean(agent) && STAFF_ROLES.has(agent.role);
  if (!panel.section || now === allowed) return;
  allowed = now;
  panel.section.hidden = !allowed;
  clearTimeout(timer);
  if (allowed) refresh();
}

export function resetNoticeProgress() {
  allowed = false;
  clearTimeout(timer);
  if (!panel.section) return;
  panel.section.hidden = true;
  panel.list.replaceChildren();
}

async function refresh() {
  let running = false;
  try {
    if (!document.hidden) {
      const answer = await api("GET", "/api/console/notices");
      if (!allowed || !state.me) return;
      const fanOuts = Array.isArray(answer.incidents) ? answer.incidents : [];
      redrawList(panel.list, panel.empty, fanOuts, buildFanOut);
      running = fanOuts.some((fanOut) => fanOut.left > 0);
    }
  } catch (error) {
    if (error.status === 401 || error.status === 403) return; // the session rule, or a new role
  } finally {
    if (allowed) timer = setTimeout(refresh, running ? RUNNING_MS : IDLE_MS);
  }
}

function buildFanOut(fanOut) {
  const done = fanOut.sent + fanOut.failed + fanOut.skipped;
  return h("li", { class: "notice-progress entry", data: { id: fanOut.incident_id } },
    h("p", { class: "entry-title" }, fanOut.title,
      h("span", { class: "meta" }, ` · ${OCCASIONS[fanOut.occasion] || fanOut.occasion}`)),
    h("progress", { max: Math.max(1, fanOut.planned), value: done, "aria-label": `Notices for ${fanOut.title}` }),
    h("p", { class: "entry-facts" }, fanOut.summary));
}
