// What the agent does in the open conversation: reply, note, hand back, close.
// One action at a time: Enter held down sends once.

import { appendMessage, buildNote, scrollToEnd, showConversation } from "./conversation.js";
import { api, guarded, showNotice, state, ui } from "./page.js";
import { refreshQueue, renderMine } from "./queue.js";

const act = (work) => guarded(async () => {
  if (state.busy || !state.open || state.open.state !== "assigned") return;
  state.busy = true;
  try {
    await work(state.open.id);
  } finally {
    state.busy = false;
  }
});

export const sendReply = act(async (id) => {
  const text = ui.replyInput.value.trim();
  if (!text) return;
  const message = await api("POST", `/api/console/handoffs/${id}/messages`, { text });
  if (!state.open || state.open.id !== id) return state.drafts.delete(id); // sent: not a draft any more
  ui.replyInput.value = "";
  fitReply();
  appendMessage(message);
  scrollToEnd();
});

export function onReplyKey(event) {
  if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
  event.preventDefault();
  sendReply();
}

export const fitReply = () => (ui.replyInput.rows = Math.max(2, Math.min(8, ui.replyInput.value.split("\n").length)));

export const addNote = act(async (id) => {
  const text = ui.noteInput.value.trim();
  if (!text) return;
  const note = await api("POST", `/api/console/handoffs/${id}/notes`, { text });
  if (!state.open || state.open.id !== id) return;
  ui.noteInput.value = "";
  if (!ui.notes.querySelector(`[data-id="${CSS.escape(String(note.id))}"]`)) ui.notes.append(buildNote(note));
});

export const handBack = act(async (id) => {
  await api("POST", `/api/console/handoffs/${id}/hand-back`, { note: null });
  finish(id, "Handed back to the bot.");
});

export const closeConversation = act(async (id) => {
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
