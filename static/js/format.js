// Dates and times, written by Intl in the reader's language (its locale is a dictionary entry), and
// calendar-day arithmetic in a practice's zone: a practitioner's days are theirs, not the browser's.
import { t } from "./i18n.js";

const locale = () => t("lang.locale");

export function fmtDateTime(iso, timeZone) {
  return new Intl.DateTimeFormat(locale(), { dateStyle: "full", timeStyle: "short", timeZone }).format(new Date(iso));
}
export function fmtTime(iso, timeZone) {
  return new Intl.DateTimeFormat(locale(), { hour: "2-digit", minute: "2-digit", timeZone }).format(new Date(iso));
}
export function fmtShort(iso) {
  return new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeStyle: "short" }).format(new Date(iso));
}

/** A date (YYYY-MM-DD) with its year, e.g. "2 avril 2019" (a birth date: no weekday, no zone). */
export function fmtDate(key) {
  const [y, m, d] = key.split("-").map(Number);
  return new Intl.DateTimeFormat(locale(), { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" }).format(new Date(Date.UTC(y, m - 1, d)));
}

/** A calendar day (YYYY-MM-DD) in words, e.g. "mardi 3 mars". */
export function fmtDayKey(key, style = "long") {
  const [y, m, d] = key.split("-").map(Number);
  const options = style === "short" ? { weekday: "short", day: "numeric", month: "short", timeZone: "UTC" } : { weekday: "long", day: "numeric", month: "long", timeZone: "UTC" };
  return new Intl.DateTimeFormat(locale(), options).format(new Date(Date.UTC(y, m - 1, d)));
}

/** The calendar day of an instant in a zone, as YYYY-MM-DD (for grouping). */
export function dayKey(iso, timeZone) {
  return new Intl.DateTimeFormat("en-CA", { year: "numeric", month: "2-digit", day: "2-digit", timeZone }).format(new Date(iso));
}

/** ``key`` (YYYY-MM-DD) moved by ``days`` calendar days. */
export function addDaysKey(key, days) {
  const [y, m, d] = key.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** Minutes a zone is ahead of UTC at an instant (DST included). */
function zoneOffset(date, timeZone) {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
  }).formatToParts(date);
  const v = Object.fromEntries(parts.map((p) => [p.type, Number(p.value)]));
  return (Date.UTC(v.year, v.month - 1, v.day, v.hour, v.minute, v.second) - date.getTime()) / 60000;
}

/** The instant a calendar day (YYYY-MM-DD) begins in a zone: days are the practitioner's. */
export function startOfDayIn(key, timeZone) {
  const [y, m, d] = key.split("-").map(Number);
  const guess = Date.UTC(y, m - 1, d);
  let at = guess - zoneOffset(new Date(guess), timeZone) * 60000;
  at = guess - zoneOffset(new Date(at), timeZone) * 60000;
  return new Date(at);
}

/**
 * A wall-clock time typed in a practice's zone ("YYYY-MM-DDTHH:MM", as an <input type=datetime-local>
 * gives it) as an RFC 3339 instant with that zone's offset at that time (DST included), e.g.
 * "2030-01-15T09:00:00+01:00": the practitioner's 09:00 is the practice's, not the browser's.
 * A time that the spring change skips comes out as the instant the zone then calls one hour later.
 */
export function instantIn(wallTime, timeZone) {
  const [date, time] = wallTime.split("T");
  const [y, m, d] = date.split("-").map(Number);
  const [hh, mm, ss = 0] = time.split(":").map(Number);
  const guess = Date.UTC(y, m - 1, d, hh, mm, ss);
  let at = guess - zoneOffset(new Date(guess), timeZone) * 60000;
  at = guess - zoneOffset(new Date(at), timeZone) * 60000;
  const offset = zoneOffset(new Date(at), timeZone);
  const wall = new Date(at + offset * 60000).toISOString().slice(0, 19);
  const sign = offset < 0 ? "-" : "+";
  const pad = (n) => String(n).padStart(2, "0");
  return `${wall}${sign}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
}

/**
 * A place on one line: the address, then "postcode city", unless the address already ends with
 * the city (people type "7 rue des Lilas, 75020 Paris" as the address; "3 rue de Paris" still
 * gets its city). The server writes mails and calendar files by the same rule
 * (app/practice/places.py, place_line).
 */
export function placeLine(address, postcode, city) {
  const street = (address || "").trim();
  const town = (city || "").trim();
  const escaped = town.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  if (town && new RegExp(`(?:,|\\d{5})\\s*${escaped}\\s*$`, "i").test(street)) return street;
  return [street, `${(postcode || "").trim()} ${town}`.trim()].filter(Boolean).join(", ");
}
