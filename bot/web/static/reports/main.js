/*
 * Shopdesk desk report: a client of GET /api/console/reports (docs/console-api.md).
 * The gateway computes every number; this page only formats and draws them, so the page,
 * the API, the CSV and `shopdesk report` cannot disagree. The period and channel live
 * in the page's address, so a reload or a shared link shows the same report.
 * Tests wait on body[data-report] (loading | ready | failed).
 */

import { drawCharts } from "./charts.js";
import { drawFootnotes, drawIncidents, drawTiles, formulas } from "./figures.js";
import { channelName } from "./format.js";

const byId = (id) => document.getElementById(id);
const form = byId("period-form");

function shopToday() {
  // The shop keeps Beijing time (UTC+8) whatever the browser's zone.
  return new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 10);
}

function daysBefore(day, days) {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() - days);
  return date.toISOString().slice(0, 10);
}

function askedPeriod() {
  const query = new URLSearchParams(window.location.search);
  const to = query.get("to") || shopToday();
  return { from: query.get("from") || daysBefore(to, 6), to, channel: query.get("channel") || "all" };
}

function notice(text) {
  byId("report-notice").textContent = text;
}

async function load(period) {
  const query = new URLSearchParams(period).toString();
  byId("csv-link").href = `/api/console/reports.csv?${query}`;
  document.body.dataset.report = "loading";
  const response = await fetch(`/api/console/reports?${query}`, {
    headers: { Accept: "application/json" }, credentials: "same-origin",
  }).catch(() => null);
  if (!response) throw new Error("Cannot reach the server. Check the connection and try again.");
  const answer = await response.json().catch(() => ({}));
  if (response.status === 401) throw new Error("Your session has ended: sign in at the console, then come back.");
  if (!response.ok) throw new Error(typeof answer.detail === "string" ? answer.detail : `The server answered ${response.status}.`);
  return answer;
}

function show(report, period) {
  const notes = formulas(report);
  drawTiles(report, notes);
  drawIncidents(report, notes);
  drawFootnotes(notes);
  drawCharts(report);
  byId("period-label").textContent = `${period.from} to ${period.to}, ${channelName(report.period.channel)}, shop time (UTC+8)`;
}

async function run(period) {
  notice("");
  try {
    const report = await load(period);
    show(report, period);
    document.body.dataset.report = "ready";
  } catch (error) {
    notice(error.message);
    document.body.dataset.report = "failed";
  }
}

function start() {
  const period = askedPeriod();
  byId("from").value = period.from;
  byId("to").value = period.to;
  byId("channel").value = period.channel;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = { from: byId("from").value, to: byId("to").value, channel: byId("channel").value };
    window.history.replaceState(null, "", `?${new URLSearchParams(chosen)}`);
    run(chosen);
  });
  run(period);
}

start();
