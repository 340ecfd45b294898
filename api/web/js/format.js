// Money, numbers and times as people read them. Money arrives as integer fen and is formatted
// with integer (BigInt) arithmetic only: a fen amount never passes through a float.

import { lang, t } from "./i18n.js";

const grouping = new Intl.NumberFormat("en-US", { useGrouping: true, maximumFractionDigits: 0 });

/** ¥8,800.00 from 880000 fen; "-¥1.05" from -105. */
export function yuan(fen) {
  if (fen === null || fen === undefined) return "—";
  let value = BigInt(fen);
  const negative = value < 0n;
  if (negative) value = -value;
  const whole = value / 100n;
  const cents = value % 100n;
  const text = `¥${grouping.format(whole)}.${cents.toString().padStart(2, "0")}`;
  return negative ? `-${text}` : text;
}

/** The fen in a yuan amount typed by a person ("8800", "8,800.5", "0.05"); null if it is not
 *  one. Parsed as text, digit by digit, never through parseFloat. */
export function parseYuan(text) {
  const cleaned = String(text).trim().replace(/[,，\s]/g, "").replace(/^¥/, "");
  const match = /^(\d{1,10})(?:\.(\d{1,2}))?$/.exec(cleaned);
  if (!match) return null;
  const fen = BigInt(match[1]) * 100n + BigInt((match[2] || "").padEnd(2, "0"));
  return Number(fen); // at most 10^12: exact in a double
}

/** The yuan text a form shows for an amount in fen: "8800.00". */
export function fenToInput(fen) {
  if (fen === null || fen === undefined) return "";
  const value = BigInt(fen);
  return `${value / 100n}.${(value % 100n).toString().padStart(2, "0")}`;
}

export function count(n) {
  if (n === null || n === undefined) return "—";
  return new Intl.NumberFormat(lang()).format(n);
}

export function percent(fraction) {
  return new Intl.NumberFormat(lang(), { style: "percent", maximumFractionDigits: 1 }).format(
    fraction,
  );
}

/** A moment in the viewer's own time zone. */
export function dateTime(iso) {
  if (!iso) return "—";
  return new Intl.DateTimeFormat(lang(), { dateStyle: "medium", timeStyle: "short" }).format(
    new Date(iso),
  );
}

export function dateOnly(iso) {
  if (!iso) return "—";
  // A date without a time (the brief's due date) is a calendar day, not a UTC instant.
  const [y, m, d] = iso.split("-").map(Number);
  return new Intl.DateTimeFormat(lang(), { dateStyle: "medium" }).format(new Date(y, m - 1, d));
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** "3 h 20 min" / "3 小时 20 分钟": the two largest units of a length of time. */
export function duration(ms) {
  const total = Math.max(0, Math.floor(Math.abs(ms) / MINUTE)); // whole minutes
  const days = Math.floor(total / (24 * 60));
  const hours = Math.floor((total % (24 * 60)) / 60);
  const minutes = total % 60;
  const parts = [];
  if (days) parts.push(t("time.days", { n: days }));
  if (hours) parts.push(t("time.hours", { n: hours }));
  if (minutes && !days) parts.push(t("time.minutes", { n: minutes }));
  if (!parts.length) return t("time.lessThanMinute");
  return parts.slice(0, 2).join(t("time.join"));
}

/** A deadline relative to now: "in 3 h 20 min" / "3 小时 20 分钟后", or "… ago" / "…前". */
export function relative(iso, now = Date.now()) {
  if (!iso) return "";
  const ms = new Date(iso).getTime() - now;
  const length = duration(ms);
  return ms >= 0 ? t("time.in", { length }) : t("time.ago", { length });
}

/** The time since a moment: "3 h 20 min". */
export function since(iso, now = Date.now()) {
  return duration(now - new Date(iso).getTime());
}

export { DAY, HOUR, MINUTE };

/** A datetime-local input's value (the viewer's wall clock) as an ISO instant, or null. */
export function localInputToIso(value) {
  if (!value) return null;
  const moment = new Date(value);
  return Number.isNaN(moment.getTime()) ? null : moment.toISOString();
}

/** An instant as a datetime-local input's value, in the viewer's time zone. */
export function isoToLocalInput(iso) {
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` +
    `T${pad(d.getHours())}:${pad(d.getMinutes())}`
  );
}
