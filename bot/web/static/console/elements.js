// Building the page's elements: text stays text, and re-drawing keeps the agent's focus.

import { guarded } from "./page.js";

// Builds an element. Strings among the children become text nodes, never markup; children
// that are null, undefined, false or "" are left out. onClick is called with the element.
export function h(tag, props, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") element.className = value;
    else if (key === "data") Object.assign(element.dataset, value);
    else if (key === "onClick") element.addEventListener("click", guarded(() => value(element)));
    else if (value !== false && value !== null && value !== undefined) element.setAttribute(key, String(value));
  }
  element.append(...children.filter((child) => ![null, undefined, false, ""].includes(child)));
  return element;
}

export function formatDuration(total) {
  const seconds = Math.max(0, Math.floor(total));
  return `${String(Math.floor(seconds / 60)).padStart(2, "0")}:${String(seconds % 60).padStart(2, "0")}`;
}

export function buildTime(value, withDate) {
  // Python writes microseconds; not every browser parses more than milliseconds.
  const date = typeof value === "string" ? new Date(value.replace(/(\.\d{3})\d+/, "$1")) : null;
  if (!date || Number.isNaN(date.getTime())) return "";
  const options = withDate ? { dateStyle: "short", timeStyle: "short" } : { hour: "2-digit", minute: "2-digit" };
  return h("time", { class: "meta", datetime: date.toISOString(), title: date.toLocaleString() },
    date.toLocaleString([], options));
}

// Re-draws a list whole, with its "nothing here" line when it is empty. The agent using it
// keeps the keyboard focus on the same entry.
export function redrawList(list, emptyNote, items, build) {
  const focused = list.contains(document.activeElement) ? document.activeElement : null;
  const holder = focused && focused.closest("[data-id]");
  const cls = focused && focused.classList[0];
  list.replaceChildren(...items.map(build));
  emptyNote.hidden = items.length > 0;
  const again = holder && list.querySelector(`[data-id="${CSS.escape(holder.dataset.id)}"]`);
  if (!again) return;
  const target = !cls || again.classList.contains(cls) ? again : again.querySelector(`.${CSS.escape(cls)}`);
  if (target) target.focus();
}
