// Call-back requests: messages customers left instead of waiting, until an agent has called.

import { buildTime, h, redrawList } from "./elements.js";
import { api, report, state, ui } from "./page.js";

export async function loadCallbacks() {
  const callbacks = await api("GET", "/api/console/callbacks").catch(report);
  if (!state.me || !Array.isArray(callbacks)) return;
  const waiting = callbacks.filter((callback) => !callback.done);
  redrawList(ui.callbacks, ui.callbacksEmpty, waiting, buildCallback);
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
