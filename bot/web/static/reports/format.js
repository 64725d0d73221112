// How the report's numbers read on the page. The API sends them unformatted (rates as
// 0..1, times in seconds); "—" stands for a figure with nothing to compute it from.

export const NONE = "—";

export function percent(value) {
  return value === null || value === undefined ? NONE : `${(value * 100).toFixed(1)}%`;
}

// 45 s, 1 min 8 s, 2 h 5 min: seconds rounded to whole ones first.
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return NONE;
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole} s`;
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${whole % 60} s`;
  return `${Math.floor(whole / 3600)} h ${Math.floor((whole % 3600) / 60)} min`;
}

export function count(value) {
  return value === null || value === undefined ? NONE : String(value);
}

export function score(value) {
  return value === null || value === undefined ? NONE : `${value.toFixed(2)} / 5`;
}

const CHANNEL_NAMES = { webchat: "Web chat", telegram: "Telegram", api: "API", all: "All channels" };
export const channelName = (name) => CHANNEL_NAMES[name] || name;

// "order_status" -> "order status"; the contacts the bot found no topic in.
export const topicName = (name) => (name === "none" ? "no topic recognised" : name.replaceAll("_", " "));
