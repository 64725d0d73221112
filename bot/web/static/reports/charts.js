// The report's charts, drawn with Chart.js (served by the gateway: /static/vendor/chart.js/).
// Not animated: a report is read, not watched, and a drawn chart is then drawn at once.

import { channelName, topicName } from "./format.js";

const COLORS = { bot: "#2e9d5b", person: "#2f5bd3", other: "#9aa3ad", bars: "#2f5bd3" };
const PALETTE = ["#2f5bd3", "#2e9d5b", "#d08a1f", "#9b59b6", "#c0392b"];
const drawn = new Map(); // canvas id -> Chart

function draw(id, config) {
  drawn.get(id)?.destroy();
  const style = getComputedStyle(document.body);
  window.Chart.defaults.color = style.color;
  window.Chart.defaults.borderColor = style.getPropertyValue("--sd-border").trim() || "#dde1e6";
  const chart = new window.Chart(document.getElementById(id), {
    ...config,
    options: { animation: false, responsive: true, maintainAspectRatio: false, ...config.options },
  });
  drawn.set(id, chart);
}

const wholeNumbers = { beginAtZero: true, ticks: { precision: 0 } };

export function drawCharts(report) {
  const { by_day: days, by_hour: hours, by_intent: intents, by_channel: channels } = report.breakdowns;
  draw("chart-days", {
    type: "bar",
    data: {
      labels: days.rows.map((row) => row.day),
      datasets: [
        { label: "Ended with the bot", data: days.rows.map((row) => row.bot_resolved), backgroundColor: COLORS.bot },
        { label: "Handed to a person", data: days.rows.map((row) => row.handed_off), backgroundColor: COLORS.person },
        { label: "Still open or other", data: days.rows.map((row) => row.contacts - row.bot_resolved - row.handed_off),
          backgroundColor: COLORS.other },
      ],
    },
    options: { scales: { x: { stacked: true }, y: { stacked: true, ...wholeNumbers } } },
  });
  draw("chart-hours", {
    type: "bar",
    data: {
      labels: hours.rows.map((row) => String(row.hour).padStart(2, "0")),
      datasets: [{ label: "Contacts", data: hours.rows.map((row) => row.contacts), backgroundColor: COLORS.bars }],
    },
    options: { plugins: { legend: { display: false } }, scales: { y: wholeNumbers } },
  });
  draw("chart-intents", {
    type: "bar",
    data: {
      labels: intents.rows.map((row) => topicName(row.intent)),
      datasets: [{ label: "Contacts", data: intents.rows.map((row) => row.contacts), backgroundColor: COLORS.bars }],
    },
    options: {
      indexAxis: "y", plugins: { legend: { display: false } },
      scales: { x: wholeNumbers, y: { ticks: { autoSkip: false } } }, // every topic named
    },
  });
  draw("chart-channels", {
    type: "doughnut",
    data: {
      labels: channels.rows.map((row) => channelName(row.channel)),
      datasets: [{ data: channels.rows.map((row) => row.contacts), backgroundColor: PALETTE }],
    },
  });
  const csat = report.figures.csat.distribution;
  draw("chart-csat", {
    type: "bar",
    data: {
      labels: ["1", "2", "3", "4", "5"],
      datasets: [{ label: "Ratings", data: ["1", "2", "3", "4", "5"].map((s) => csat[s]),
        backgroundColor: ["#c0392b", "#e67e22", "#d4ac0d", "#7dbb42", "#2e9d5b"] }],
    },
    options: { plugins: { legend: { display: false } }, scales: { y: wholeNumbers } },
  });
}
