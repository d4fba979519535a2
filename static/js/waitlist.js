// The waiting list (issue 26), the patient's side: ask a practitioner for an earlier slot, see one's
// requests and the slot held for each, and book it in one click from the mail's link.
import { get, post, del, query, Problem } from "./api.js";
import { h, clear, field } from "./dom.js";
import { t } from "./i18n.js";
import { session, nav, notify, showError } from "./state.js";
import { fmtDateTime, fmtTime, fmtDayKey, addDaysKey, dayKey, startOfDayIn } from "./format.js";
import { heading, link, loading, empty, section, cards } from "./widgets.js";

/** On a practitioner's page: "Be told of an earlier slot" for a signed-in patient. */
export function joinSection(profile) {
  const part = section({ heading: "waitlist-title", title: t("waitlist.title"), class: "waitlist", id: "waitlist" },
    h("p", { class: "muted" }, t("waitlist.intro")));
  if (!session.account) {
    part.append(h("p", {}, t("waitlist.sign_in"), " ", link("/login", t("waitlist.sign_in_link"))));
    return part;
  }
  if (session.account.role !== "patient") return part;
  const reasons = profile.visit_reasons;
  // a reason to pick only when there is a choice (a practice that asks none has one, generic)
  const reason = reasons.length > 1
    ? field(t("waitlist.reason"), { tag: "select", id: "waitlist-reason", options: reasons.map((r) => [r.id, r.label]) })
    : null;
  const reasonId = () => (reason ? reason.input.value : reasons[0].id);
  const today = dayKey(new Date().toISOString(), profile.timezone);
  const horizon = addDaysKey(today, profile.booking_rules.max_horizon_days);
  const before = field(t("waitlist.before"), {
    type: "date", id: "waitlist-before", required: true, min: addDaysKey(today, 1), max: horizon, value: addDaysKey(today, 14),
  }, t("waitlist.before_hint"));
  const join = h("button", { type: "submit", id: "waitlist-join" }, t("waitlist.join"));
  const choice = h("div", { id: "waitlist-free" });
  // "before the 12th": a slot starting before that day begins, in the practice's zone
  const until = () => startOfDayIn(before.input.value, profile.timezone).toISOString();
  async function enlist() {
    await post(`/api/v1/practitioners/${profile.id}/waitlist`, { visit_reason_id: reasonId(), before: until() });
    notify(t("waitlist.joined"), "success");
    await nav.go("/account#waitlist");
  }
  part.append(h("form", { on: { submit: async (event) => {
    event.preventDefault();
    join.disabled = true;
    clear(choice);
    try {
      // a slot already free before that date is booked now rather than waited for: say so first
      const first = await firstFreeBefore(profile, reasonId(), until());
      if (first) {
        const when = fmtDateTime(first.start, profile.timezone);
        const book = `/practitioners/${profile.id}?${new URLSearchParams({ slot: first.start, reason: reasonId() })}`;
        const anyway = h("button", { type: "button", class: "secondary", id: "waitlist-anyway", on: { click: async () => {
          anyway.disabled = true;
          try { await enlist(); } catch (error) { showError(error); } finally { anyway.disabled = false; }
        } } }, t("waitlist.join_anyway"));
        choice.append(h("div", { class: "confirm", role: "group", "aria-labelledby": "waitlist-free-text", tabindex: "-1" },
          h("p", { id: "waitlist-free-text" }, t("waitlist.free_exists", { when })),
          h("p", { class: "actions" }, link(book, t("waitlist.book_first"), { class: "button", id: "waitlist-book-first" }), " ", anyway)));
        choice.firstChild.focus();
        return;
      }
      await enlist();
    } catch (error) {
      showError(error);
    } finally {
      join.disabled = false;
    }
  } } }, reason ? reason.wrap : null, before.wrap, join), choice);
  return part;
}

/** The first slot of that reason free before ``until`` (within the slot list's 31 days), if any. */
async function firstFreeBefore(profile, reasonId, until) {
  const from = new Date();
  const to = new Date(Math.min(Date.parse(until), from.getTime() + 31 * 86400000));
  if (to <= from) return null;
  const free = await get(`/api/v1/practitioners/${profile.id}/slots${query({ from: from.toISOString(), to: to.toISOString(), visit_reason_id: reasonId })}`);
  return free.find((s) => Date.parse(s.start) < Date.parse(until)) || null;
}

function offerText(entry) {
  return t("waitlist.offer", {
    when: fmtDateTime(entry.offer.start, entry.timezone), until: fmtTime(entry.offer.hold_until, entry.timezone),
  });
}

async function claim(entry, button) {
  button.disabled = true;
  try {
    const booked = await post(`/api/v1/waitlist/${entry.id}/claim`, {}, { "Idempotency-Key": `claim-${entry.id}-${entry.offer.start}` });
    await nav.go("/account");
    notify(t("book.done", { when: fmtDateTime(booked.start, entry.timezone) }), "success");
  } catch (error) {
    button.disabled = false;
    showError(error);
    if (error instanceof Problem && error.code === "offer_unavailable") await nav.go("/account", { replace: true });
  }
}

async function leave(entry) {
  if (!window.confirm(t("waitlist.leave_confirm", { name: entry.practitioner_name }))) return;
  try {
    await del(`/api/v1/me/waitlist/${entry.id}`);
    await nav.go("/account", { replace: true });
    notify(t("waitlist.left"), "success");
  } catch (error) {
    showError(error);
  }
}

function entryCard(entry) {
  const take = h("button", { type: "button", class: "claim" }, t("waitlist.claim"));
  take.addEventListener("click", () => claim(entry, take));
  return h("li", { class: "card", "data-waitlist": entry.id },
    h("h3", {}, link(`/practitioners/${entry.practitioner_id}`, entry.practitioner_name)),
    // "before the 8th": the day it was asked as, not midnight
    h("p", {}, t("waitlist.wants", { date: fmtDayKey(dayKey(entry.before, entry.timezone)) })),
    entry.offer
      ? h("div", { class: "offer", role: "status" }, h("p", { class: "next-slot" }, offerText(entry)), h("p", { class: "actions" }, take))
      : h("p", { class: "muted" }, t("waitlist.waiting")),
    h("p", {}, h("button", { type: "button", class: "secondary", on: { click: () => leave(entry) } }, t("waitlist.leave"))));
}

/** On the patient's appointments page: their requests, the slot held for each. */
export async function mySection() {
  const entries = await get("/api/v1/me/waitlist");
  return section({ heading: "my-waitlist-title", title: t("waitlist.mine"), id: "waitlist" },
    cards(entries, entryCard, t("waitlist.none")));
}

/** ``/waitlist/{id}``, the mail's link: the held slot and the one button that books it. */
export async function waitlistView(main, id) {
  main.append(heading(t("waitlist.offer_title")), loading());
  let entry;
  try {
    entry = await get(`/api/v1/me/waitlist/${id}`);
  } catch (error) {
    main.lastChild.remove();
    if (error instanceof Problem && error.status === 404) {
      main.append(empty(t("waitlist.gone")), h("p", {}, link("/account", t("nav.appointments"))));
      return;
    }
    throw error;
  }
  main.lastChild.remove();
  main.append(cards([entry], entryCard), h("p", {}, link("/account", t("nav.appointments"))));
}
