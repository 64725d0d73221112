/*
 * Shopdesk agent console: a client of docs/console-api.md (JSON over fetch, events over
 * the WebSocket /ws/console). This module wires the page; each part is its own module:
 * page.js (shared elements, state, API), session.js (login and the agent), queue.js,
 * callbacks.js, conversation.js and conversation-actions.js, knowledge.js, live.js
 * (the socket and the poll), elements.js (building elements), ops-chat.js (the Ops chat
 * and Telegram linking, for ops and managers).
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
 * - No build step, no framework: the browser loads these ES modules as they are. The
 *   lists are short, so they are re-drawn whole, keeping the keyboard focus where the
 *   agent had it. Tests wait on body[data-console] (login | ready) and body[data-socket]
 *   (open | closed).
 * - The modules call each other's functions, but only page.js (which imports nothing)
 *   is used while modules load, so the order in which the browser loads them is safe.
 */

import { addNote, closeConversation, fitReply, handBack, onReplyKey, sendReply } from "./conversation-actions.js";
import { showConversation } from "./conversation.js";
import { searchKnowledge } from "./knowledge.js";
import { connect } from "./live.js";
import { setUpOpsChat } from "./ops-chat.js";
import { api, guarded, onSessionEnd, onSubmit, state, ui } from "./page.js";
import { enterConsole, onLogin, onLogout, showLogin, toggleStatus } from "./session.js";

async function start() {
  onSessionEnd(showLogin);
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
  setUpOpsChat();
  window.addEventListener("online", () => state.me && !state.socket && connect()); // skip the backoff
  showConversation(null);
  try {
    await enterConsole(await api("GET", "/api/console/me"));
  } catch (error) {
    if (error.status !== 401) showLogin(error.message);
  }
}

start();
