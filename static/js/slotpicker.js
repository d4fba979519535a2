// The slot picker, shared by booking (public.js), a patient's rescheduling (patient.js) and the
// practitioner's "move" in the agenda (pro.js).
import { get, query } from "./api.js";
import { h, clear, field } from "./dom.js";
import { t } from "./i18n.js";
import { notify, problemText } from "./state.js";
import { fmtTime, fmtDateTime, dayKey, addDaysKey, startOfDayIn, fmtDayKey } from "./format.js";
import { empty, loading } from "./widgets.js";

const SLOTS_SHOWN = 8;
const DAY_MS = 86400000;

/**
 * A visit-reason choice and seven calendar days of free slots (the practitioner's days, in their
 * zone), with previous/next; `onPick(slot, reason)`. `fixedReason` skips the choice (rescheduling
 * keeps the visit reason); `initial` ({start, reason}) opens on that slot's week and picks it;
 * `slotsPath` lists another set of free slots (the practice's desk: no minimum notice).
 * An empty week says when the next free slot is, and the booking horizon bounds "next".
 */
export function slotPicker(container, profile, { onPick, fixedReason, initial, slotsPath } = {}) {
  const tz = profile.timezone;
  // a slot at a site in another zone is shown in that site's local time, on that site's date
  const sites = profile.sites || [];
  const siteOf = (slot) => sites.find((s) => s.id === slot.site_id);
  const zoneOf = (slot) => siteOf(slot)?.timezone || tz;
  const reasons = profile.visit_reasons;
  const horizonDays = profile.booking_rules.max_horizon_days;
  const lastDay = dayKey(new Date(Date.now() + horizonDays * DAY_MS).toISOString(), tz);
  const today = dayKey(new Date().toISOString(), tz);
  let reason = reasons.find((r) => r.id === (fixedReason || initial?.reason)) || reasons[0];
  let first = initial ? dayKey(initial.start, tz) : today;
  if (first < today) first = today;
  const reasonField = field(t("book.reason"), {
    tag: "select",
    id: "visit-reason",
    options: reasons.map((r) => [r.id, `${r.label} (${t("common.minutes", { n: r.duration_minutes })})${r.new_patients ? "" : ` — ${t("book.known_patients")}`}`]),
  });
  reasonField.input.value = reason.id;
  // charter C6: a practice that asks no reason offers one generic reason; nothing to pick
  const asksNone = reasons.length === 1 && reasons[0].generic;
  if (asksNone && !fixedReason) {
    container.append(h("p", { id: "no-reason-asked" }, t("book.no_reason", { n: reason.duration_minutes })));
  } else if (!fixedReason) {
    container.append(reasonField.wrap);
    reasonField.input.addEventListener("change", () => {
      reason = reasons.find((r) => r.id === reasonField.input.value);
      load();
    });
  }
  const range = h("p", { class: "range", "aria-live": "polite" });
  const prev = h("button", { type: "button", class: "secondary", on: { click: () => { first = maxKey(addDaysKey(first, -7), today); load(); } } }, t("book.prev"));
  const next = h("button", { type: "button", class: "secondary", on: { click: () => { first = addDaysKey(first, 7); load(); } } }, t("book.next"));
  const week = h("div", { class: "week" });
  container.append(h("div", { class: "week-nav" }, prev, range, next), week);

  async function fetchSlots(fromKey, toKey) {
    const from = new Date(Math.max(startOfDayIn(fromKey, tz).getTime(), Date.now()));
    const to = startOfDayIn(toKey, tz);
    if (to <= from) return [];
    return get(`${slotsPath || `/api/v1/practitioners/${profile.id}/slots`}${query({ from: from.toISOString(), to: to.toISOString(), visit_reason_id: reason.id })}`);
  }

  /** The first free slot after this week, looked for a month at a time up to the horizon. */
  async function nextAfter(key) {
    for (let from = key; from <= lastDay; from = addDaysKey(from, 28)) {
      const found = await fetchSlots(from, minKey(addDaysKey(from, 28), addDaysKey(lastDay, 1)));
      if (found.length) return found[0];
    }
    return null;
  }

  async function load(pick) {
    const end = addDaysKey(first, 7);
    prev.disabled = first <= today;
    next.disabled = end > lastDay;
    clear(range, t("book.range", { from: fmtDayKey(first), to: fmtDayKey(addDaysKey(end, -1)) }));
    clear(week, loading());
    let slots;
    try {
      slots = await fetchSlots(first, end);
    } catch (error) {
      clear(week, empty(problemText(error)));
      return;
    }
    const byDay = new Map();
    for (const slot of slots) {
      const key = dayKey(slot.start, zoneOf(slot));
      if (!byDay.has(key)) byDay.set(key, []);
      byDay.get(key).push(slot);
    }
    clear(week);
    if (slots.length === 0) {
      await sayWhenNext(end);
    } else {
      // on a phone one day at a time (the first with free slots open), on a wide screen the week
      const wide = window.matchMedia("(min-width: 48rem)").matches;
      let opened = false;
      for (let i = 0; i < 7; i += 1) {
        const key = addDaysKey(first, i);
        const daySlots = byDay.get(key) || [];
        const open = wide || (!opened && daySlots.length > 0);
        opened ||= open && daySlots.length > 0;
        week.append(dayColumn(key, daySlots, open));
      }
    }
    if (pick) {
      const slot = slots.find((s) => s.start === pick || Date.parse(s.start) === Date.parse(pick));
      if (slot) onPick(slot, reason);
      else notify(t("book.chosen_gone"), "error");
    }
  }

  async function sayWhenNext(end) {
    if (end > lastDay) {
      week.append(empty(t("book.past_horizon", { n: horizonDays })));
      return;
    }
    week.append(empty(t("book.no_slots_week")));
    const found = await nextAfter(end);
    if (!found) {
      week.append(h("p", {}, t("book.none_before_horizon", { date: fmtDayKey(lastDay) })));
      return;
    }
    const key = dayKey(found.start, zoneOf(found));
    week.append(h("p", {}, `${t("book.next_free", { when: fmtDateTime(found.start, zoneOf(found)) })} `,
      h("button", { type: "button", class: "secondary", id: "go-next-free", on: { click: () => { first = key; load(); } } }, t("book.go_to_week"))));
  }

  function dayColumn(key, daySlots, open) {
    const title = fmtDayKey(key);
    const count = daySlots.length ? t("book.n_slots", { n: daySlots.length }) : t("book.none_today");
    const list = h("ul", { class: "slots" });
    const button = (slot) => h("li", {}, h("button", {
      type: "button",
      class: "slot",
      "aria-label": `${fmtDateTime(slot.start, zoneOf(slot))} — ${reason.label}${sites.length > 1 && siteOf(slot) ? ` — ${siteOf(slot).label}` : ""}`,
      on: { click: () => onPick(slot, reason) },
    }, fmtTime(slot.start, zoneOf(slot))));
    daySlots.slice(0, SLOTS_SHOWN).forEach((slot) => list.append(button(slot)));
    const details = h("details", { class: "day", open, "data-day": key, "aria-label": title },
      h("summary", {}, h("span", { class: "day-name" }, title), h("span", { class: "count" }, count)), list);
    if (daySlots.length > SLOTS_SHOWN) {
      const more = h("button", { type: "button", class: "link-button more-slots", on: { click: () => {
        more.parentElement.remove();
        daySlots.slice(SLOTS_SHOWN).forEach((slot) => list.append(button(slot)));
      } } }, t("book.more_slots", { n: daySlots.length - SLOTS_SHOWN }));
      list.append(h("li", { class: "more" }, more));
    }
    return details;
  }

  load(initial ? initial.start : undefined);
}

const minKey = (a, b) => (a < b ? a : b);
const maxKey = (a, b) => (a > b ? a : b);

/**
 * The step between picking a new time and moving a visit there: booking asks "confirm", and so
 * does a move, or a misclick in the picker gives up the old time at once. Says from when to when;
 * "confirm" runs `onConfirm`, "another time" just closes it (the picker stays open above).
 */
export function confirmMove(container, visit, slot, tz, onConfirm) {
  container.querySelector(".move-confirm")?.remove();
  const box = h("div", { class: "move-confirm", role: "group", "aria-labelledby": "move-confirm-text", tabindex: "-1" },
    h("p", { id: "move-confirm-text" }, t("appointments.move_confirm", { from: fmtDateTime(visit.start, tz), to: fmtDateTime(slot.start, tz) })));
  const yes = h("button", { type: "button", id: "move-confirm", on: { click: async () => {
    yes.disabled = true;
    try {
      await onConfirm();
    } finally {
      yes.disabled = false;
    }
  } } }, t("appointments.move_confirm_button"));
  box.append(h("p", { class: "actions" }, yes, " ",
    h("button", { type: "button", class: "secondary", on: { click: () => box.remove() } }, t("appointments.move_other"))));
  container.append(box);
  box.focus();
}
