// The figures as tiles, the incidents as a table, and every formula as a footnote. Each
// tile and column carries its formula as a tooltip (title) and links to its footnote.

import { count, duration, NONE, percent, score, topicName } from "./format.js";

const byId = (id) => document.getElementById(id);

// Builds an element; strings among the children become text nodes, never markup.
export function h(tag, props, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "data") Object.assign(element.dataset, value);
    else if (key === "class") element.className = value;
    else if (value !== null && value !== undefined) element.setAttribute(key, String(value));
  }
  element.append(...children.filter((child) => child !== null && child !== undefined && child !== ""));
  return element;
}

const ofTotal = (rate) => `${rate.numerator} of ${rate.denominator}`;

// name, label, how the value reads, the raw value, the line under it, the footnote's key.
function tiles(figures) {
  const f = figures;
  const rule = f.service_level;
  const csat = f.csat;
  return [
    ["contacts", "Contacts", count(f.contacts.value), f.contacts.value, "", "contacts"],
    ["containment", "Contained by the bot", percent(f.containment.value), f.containment.value,
      ofTotal(f.containment), "containment"],
    ["handoff_rate", "Handed to a person", percent(f.handoff_rate.value), f.handoff_rate.value,
      ofTotal(f.handoff_rate), "handoff_rate"],
    ["abandonment", "Abandoned in the queue", percent(f.abandonment.value), f.abandonment.value,
      `${ofTotal(f.abandonment)}; ${f.abandonment.callbacks} call-back(s) not counted`, "abandonment"],
    ["first_response", "First response, median", duration(f.first_response_seconds.median),
      f.first_response_seconds.median,
      `p90 ${duration(f.first_response_seconds.p90)} · ${f.first_response_seconds.count} answered`,
      "first_response_seconds"],
    ["resolution", "Resolution, median", duration(f.resolution_seconds.median), f.resolution_seconds.median,
      `p90 ${duration(f.resolution_seconds.p90)} · ${f.resolution_seconds.count} resolved`,
      "resolution_seconds"],
    ["service_level", `Answered within ${rule.threshold_seconds} s`, percent(rule.value), rule.value,
      `${ofTotal(rule)} · target ${percent(rule.target)}`, "service_level"],
    ["csat", "Satisfaction (CSAT)", score(csat.mean), csat.mean,
      `${csat.ratings} rating(s) · ${percent(csat.response_rate.value)} answered (${ofTotal(csat.response_rate)})`,
      "csat"],
  ];
}

export function formulas(document) {
  const f = document.figures;
  const notes = {
    contacts: f.contacts.formula,
    containment: f.containment.formula,
    handoff_rate: f.handoff_rate.formula,
    abandonment: f.abandonment.formula,
    first_response_seconds: f.first_response_seconds.formula,
    resolution_seconds: f.resolution_seconds.formula,
    service_level: f.service_level.formula,
    csat: `${f.csat.formula} Answered: ${f.csat.response_rate.formula}`,
  };
  for (const [name, breakdown] of Object.entries(document.breakdowns)) notes[name] = breakdown.formula;
  const incident = document.incidents.formulas;
  notes.incident_contacts = incident.incident_contacts;
  notes.notices = incident.notices;
  notes.contacts_after_notice = incident.contacts_after_notice;
  notes.share_contacted_after = incident.share_contacted_after;
  return notes;
}

const NOTE_TITLES = {
  contacts: "Contacts", containment: "Contained by the bot", handoff_rate: "Handed to a person",
  abandonment: "Abandoned in the queue", first_response_seconds: "First response",
  resolution_seconds: "Resolution", service_level: "Service level", csat: "Satisfaction (CSAT)",
  by_day: "Contacts per day", by_hour: "Contacts by hour", by_intent: "Contacts by topic",
  by_channel: "Contacts by channel", incident_contacts: "Contacts tied to an incident",
  notices: "Notices sent, customers notified", contacts_after_notice: "Contacts after notice",
  share_contacted_after: "Notified who still contacted us",
};

export function drawTiles(document, notes) {
  const below = (rate) => rate.value !== null && rate.value < rate.target;
  byId("tiles").replaceChildren(...tiles(document.figures).map(([name, label, shown, raw, detail, note]) =>
    h("article", {
      class: name === "service_level" && below(document.figures.service_level) ? "tile below-target" : "tile",
      data: { figure: name, value: raw === null ? "" : String(raw) },
      title: notes[note],
    },
    h("h3", {}, label, " ", h("a", { class: "note-ref", href: `#note-${note}`, "aria-label": "how it is computed" }, "[?]")),
    h("p", { class: "value" }, shown),
    h("p", { class: "detail muted" }, detail))));
}

export function drawIncidents(document, notes) {
  const columns = { "col-contacts": "incident_contacts", "col-notices": "notices", "col-notified": "notices",
    "col-after": "contacts_after_notice", "col-share": "share_contacted_after" };
  for (const [id, note] of Object.entries(columns)) byId(id).title = notes[note];
  const rows = document.incidents.rows;
  byId("incident-rows").replaceChildren(...rows.map((row) => h("tr", { data: { incident: row.incident_id } },
    h("th", { scope: "row" }, `#${row.incident_id} ${row.title}`),
    h("td", { data: { column: "contacts" } }, count(row.contacts)),
    h("td", { data: { column: "notices_sent" } }, count(row.notices_sent)),
    h("td", { data: { column: "customers_notified" } }, count(row.customers_notified)),
    h("td", { data: { column: "contacts_after_notice" } }, count(row.contacts_after_notice)),
    h("td", { data: { column: "share_contacted_after" } },
      row.customers_notified ? `${percent(row.share_contacted_after)} (${row.customers_contacted_after})` : NONE))));
  byId("incidents-empty").hidden = rows.length > 0;
}

export function drawFootnotes(notes) {
  byId("footnotes").replaceChildren(...Object.entries(notes).map(([name, text]) =>
    h("li", { id: `note-${name}` }, h("strong", {}, `${NOTE_TITLES[name] || topicName(name)}: `), text)));
}
