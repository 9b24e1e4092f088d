// Dates, times, durations and numbers in the user's locale (Intl only: no hand-made formats).

const locale = () => navigator.languages?.[0] || navigator.language || undefined;
const cache = new Map();

function fmt(kind, options) {
  const key = `${kind}:${JSON.stringify(options)}`;
  if (!cache.has(key)) cache.set(key, new Intl[kind](locale(), options));
  return cache.get(key);
}

function capitalize(text) {
  return text ? text.charAt(0).toLocaleUpperCase(locale()) + text.slice(1) : text;
}

function startOfDay(date) {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate());
}

/** Whole days between two dates' calendar days (local time): 0 today, -1 yesterday. */
function dayOffset(date, now = new Date()) {
  return Math.round((startOfDay(date) - startOfDay(now)) / 86_400_000);
}

/** A day heading: "Today", "Yesterday", "Monday", or "12 March 2024". */
export function formatDay(value, now = new Date()) {
  const date = new Date(value);
  const offset = dayOffset(date, now);
  if (offset === 0 || offset === -1) {
    return capitalize(fmt("RelativeTimeFormat", { numeric: "auto" }).format(offset, "day"));
  }
  if (offset > -7 && offset < 0) return capitalize(fmt("DateTimeFormat", { weekday: "long" }).format(date));
  const sameYear = date.getFullYear() === now.getFullYear();
  return fmt("DateTimeFormat", sameYear ? { day: "numeric", month: "long", weekday: "short" } : { dateStyle: "long" }).format(date);
}

/** A time of day: "14:05" or "2:05 PM". */
export function formatTime(value) {
  return fmt("DateTimeFormat", { timeStyle: "short" }).format(new Date(value));
}

/** A full date and time for tooltips and accessible names. */
export function formatDateTime(value) {
  return fmt("DateTimeFormat", { dateStyle: "medium", timeStyle: "short" }).format(new Date(value));
}

/** "5 minutes ago", "yesterday"... (for recent moments). */
export function formatRelative(value, now = Date.now()) {
  const seconds = Math.round((new Date(value).getTime() - now) / 1000);
  const rtf = fmt("RelativeTimeFormat", { numeric: "auto" });
  const abs = Math.abs(seconds);
  if (abs < 60) return rtf.format(0, "second");
  if (abs < 3600) return rtf.format(Math.round(seconds / 60), "minute");
  if (abs < 86400) return rtf.format(Math.round(seconds / 3600), "hour");
  return rtf.format(Math.round(seconds / 86400), "day");
}

function parts(totalSeconds) {
  const s = Math.max(0, Math.round(totalSeconds));
  return { hours: Math.floor(s / 3600), minutes: Math.floor((s % 3600) / 60), seconds: s % 60 };
}

/**
 * A duration in words: "1 min, 5 sec" ("short") or "1m 5s" ("narrow"); zero units are left out
 * (seconds are dropped from durations of an hour or more).
 */
export function formatDuration(totalSeconds, style = "short") {
  const { hours, minutes, seconds } = parts(totalSeconds);
  const value = hours ? { hours, minutes } : minutes ? { minutes, seconds } : { seconds };
  for (const key of Object.keys(value)) if (!value[key] && Object.keys(value).length > 1) delete value[key];
  if (typeof Intl.DurationFormat === "function") {
    // Zero units are left out by DurationFormat: "0 sec" needs secondsDisplay "always".
    const options = "seconds" in value ? { style, secondsDisplay: "always" } : { style };
    return fmt("DurationFormat", options).format(value);
  }
  const units = { hours: "hour", minutes: "minute", seconds: "second" };
  const list = Object.entries(value).map(([key, n]) =>
    fmt("NumberFormat", { style: "unit", unit: units[key], unitDisplay: style === "narrow" ? "narrow" : "short" }).format(n),
  );
  return fmt("ListFormat", { style: "narrow", type: "unit" }).format(list);
}

/** A whole number: "1,234". */
export function formatNumber(value) {
  return fmt("NumberFormat", {}).format(value);
}

/** A share as a percentage: 0.5 -> "50%". */
export function formatPercent(value) {
  return fmt("NumberFormat", { style: "percent", maximumFractionDigits: 0 }).format(value);
}
