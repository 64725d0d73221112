// Knowledge base: an answer goes into the composer to be edited, never straight out.

import { fitReply } from "./conversation-actions.js";
import { h } from "./elements.js";
import { api, ui } from "./page.js";

const MAX_QUERY_CHARS = 500; // the API's limit, in characters (not UTF-16 units)

export async function searchKnowledge() {
  const q = ui.kbQuery.value.trim();
  if (!q || ui.kbSearch.disabled) return;
  // The gateway loads its sentence encoder at the first search, which takes seconds.
  ui.kbSearch.disabled = true;
  ui.kbResults.replaceChildren(h("li", { class: "empty" }, "Searching…"));
  try {
    // In the body, not the URL: the query often quotes the customer, and URLs get logged.
    const query = Array.from(q).slice(0, MAX_QUERY_CHARS).join("");
    const articles = await api("POST", "/api/console/knowledge", { q: query });
    ui.kbResults.replaceChildren(...articles.map(buildArticle));
    if (!articles.length) ui.kbResults.append(h("li", { class: "empty" }, "No articles match."));
  } catch (error) {
    ui.kbResults.replaceChildren();
    throw error;
  } finally {
    ui.kbSearch.disabled = false;
  }
}

function buildArticle(article) {
  const titleId = `kb-title-${article.id}`;
  return h("li", { class: "kb-result", data: { id: article.id } },
    h("p", { class: "kb-title", id: titleId }, article.title),
    h("p", { class: "kb-answer text" }, article.answer),
    h("button", { type: "button", class: "kb-use secondary", "aria-describedby": titleId,
      onClick: () => useAnswer(article.answer) }, "Use in reply"));
}

function useAnswer(answer) {
  const current = ui.replyInput.value.trimEnd();
  ui.replyInput.value = current ? `${current}\n\n${answer}` : answer;
  fitReply();
  ui.replyInput.focus();
  ui.replyInput.setSelectionRange(ui.replyInput.value.length, ui.replyInput.value.length);
}
