// Practitioner: status and profile, booking rules, charter purposes, agenda, hours, absences, reasons.
import { get, post, put, del, query } from "./api.js";
import { h, clear, field, checkbox } from "./dom.js";
import { t, lang } from "./i18n.js";
import { session, nav, notify, showError, exportLink } from "./state.js";
import { fmtTime, fmtDateTime, dayKey, addDaysKey, startOfDayIn, fmtDayKey, instantIn } from "./format.js";
import { heading, link, loading, empty, section, table, cards, form } from "./widgets.js";
import { slotPicker, confirmMove } from "./slotpicker.js";
import { professions } from "./public.js";
import { consentSection, deletionForm } from "./patient.js";

export async function practiceView(main) {
  main.append(heading(t("practice.title")));
  const [practice, list, charter, consents] = await Promise.all([
    get("/api/v1/me/practice"), professions(), get(`/api/v1/charter?lang=${lang()}`), get("/api/v1/me/consents"),
  ]);
  const status = section({ heading: "status-title", title: t("practice.status"), class: `status-box ${practice.status}` },
    h("p", { id: "practice-status" }, t(`practice.status_${practice.status}`)),
    h("p", {}, practice.listed ? t("practice.listed") : t("practice.not_listed")));
  if (!practice.listed && practice.listing_missing.length) {
    status.append(h("p", {}, t("practice.missing")), h("ul", {}, practice.listing_missing.map((m) => h("li", {}, t(`missing.${m}`, m)))));
  }
  if (practice.listed) status.append(h("p", {}, link(`/practitioners/${practice.id}`, t("practice.public_page"))));
  main.append(status);

  // profile and booking rules
  const name = field(t("practice.display_name"), { required: true, value: practice.display_name });
  const profession = field(t("search.profession"), { tag: "select", options: [["", "—"], ...list.map((p) => [p.id, p.label])] });
  const specialty = field(t("search.specialty"), { tag: "select", options: [["", "—"]] });
  const fill = () => {
    const chosen = list.find((p) => p.id === profession.input.value);
    clear(specialty.input, h("option", { value: "" }, "—"));
    for (const s of chosen ? chosen.specialties : []) specialty.input.append(h("option", { value: s.id }, s.label));
  };
  profession.input.value = practice.profession || "";
  fill();
  specialty.input.value = practice.specialty || "";
  profession.input.addEventListener("change", fill);
  const address = field(t("practitioner.address"), { value: practice.address, autocomplete: "street-address" });
  const city = field(t("search.city"), { value: practice.city, autocomplete: "address-level2" });
  const sector = field(t("practitioner.sector"), { tag: "select", options: [["", "—"], ...["1", "2", "3", "non-conventionne"].map((s) => [s, t(`sector.${s}`)])] });
  sector.input.value = practice.convention_sector || "";
  const fees = field(t("practitioner.fees"), { value: practice.fees, maxlength: 200 }, t("practice.fees_hint"));
  // charter C2: the presentation space holds the titles and mode of practice the practitioner states
  const mode = field(t("practitioner.mode"), { tag: "select", id: "practice-mode", options: [["", "—"], ...["liberal", "salaried", "mixed"].map((m) => [m, t(`mode.${m}`)])] });
  mode.input.value = practice.practice_mode || "";
  const titles = field(t("practitioner.titles"), { tag: "textarea", id: "practice-titles", rows: 3 }, t("practice.titles_hint"));
  titles.input.value = practice.titles.join("\n");
  const rules = practice.booking_rules;
  const notice = field(t("rules.min_notice"), { type: "number", min: 0, value: rules.min_notice_minutes });
  const horizon = field(t("rules.max_horizon"), { type: "number", min: 1, max: 366, value: rules.max_horizon_days });
  const deadline = field(t("rules.cancel_deadline"), { type: "number", min: 0, value: rules.cancel_deadline_minutes });
  main.append(section({ heading: "profile-title", title: t("practice.profile") },
    form(async () => {
      const body = {
        display_name: name.input.value.trim(),
        address: address.input.value.trim(),
        city: city.input.value.trim(),
        fees: fees.input.value.trim(),
        practice_mode: mode.input.value || null,
        titles: titles.input.value.split("\n").map((x) => x.trim()).filter(Boolean),
        booking_rules: {
          min_notice_minutes: Number(notice.input.value),
          max_horizon_days: Number(horizon.input.value),
          cancel_deadline_minutes: Number(deadline.input.value),
        },
      };
      if (profession.input.value) body.profession = profession.input.value;
      if (specialty.input.value) body.specialty = specialty.input.value;
      if (sector.input.value) body.convention_sector = sector.input.value;
      await put("/api/v1/me/practice", body);
      await nav.go("/pro", { replace: true });
      notify(t("common.saved"), "success");
    },
    h("div", { class: "grid" }, name.wrap, profession.wrap, specialty.wrap, address.wrap, city.wrap, sector.wrap, fees.wrap, mode.wrap),
    titles.wrap,
    h("fieldset", {}, h("legend", {}, t("rules.title")), h("div", { class: "grid" }, notice.wrap, horizon.wrap, deadline.wrap)),
    h("button", { type: "submit" }, t("common.save")))));
  main.append(await notificationSettings());
  main.append(consentSection(charter, consents, "practitioner", "/pro"));
  main.append(await feedSection());
  main.append(leaveSection());
}

/** The agenda in the practitioner's own calendar application: a secret link, shown once (only
 * its hash is kept), replaced by a new one or revoked at once. */
async function feedSection() {
  let live = (await get("/api/v1/me/calendar-feed")).active;
  const shown = h("div", { id: "feed-link" });
  const state = h("p", { id: "feed-state" });
  const create = h("button", { type: "button", class: "secondary", id: "feed-create", on: { click: async () => {
    try {
      const { url } = await post("/api/v1/me/calendar-feed");
      const box = field(t("feed.url"), { id: "feed-url", readonly: true, value: url }, t("feed.url_hint"));
      clear(shown, box.wrap);
      box.input.select();
      // a first link replaces nothing
      notify(t(live ? "feed.created" : "feed.created_first"), "success");
      live = true;
      update();
    } catch (error) { showError(error); }
  } } }, t("feed.create"));
  const revoke = h("button", { type: "button", class: "danger", id: "feed-revoke", on: { click: async () => {
    try {
      await del("/api/v1/me/calendar-feed");
      clear(shown);
      notify(t("feed.revoked"), "success");
      live = false;
      update();
    } catch (error) { showError(error); }
  } } }, t("feed.revoke"));
  // "revoke" only when a link is live; its URL was shown once and is not kept
  function update() {
    revoke.hidden = !live;
    clear(state, t(live ? "feed.active" : "feed.none"));
  }
  update();
  return section({ heading: "feed-title", title: t("feed.title"), id: "calendar-feed" },
    h("p", {}, t("feed.intro")), state, h("div", { class: "actions" }, create, revoke), shown);
}

/**
 * Charter C12: the practitioner leaves with their data. The export comes first (agenda and patients'
 * contact details, FHIR JSON); closing then asks for a ticked box and a fresh sign-in, ends the
 * listing at once, cancels what is ahead (each patient told) and erases the account.
 */
function leaveSection() {
  const closing = deletionForm(
    { sureId: "close-sure", sureLabel: t("close.confirm"), submitId: "close-account", submitLabel: t("close.submit"), doneText: t("close.done") },
    h("h3", {}, t("close.step2")), h("p", {}, t("close.intro")));
  return section({ heading: "leave-title", title: t("close.title"), id: "leave" },
    h("h3", {}, t("close.step1")),
    h("p", {}, t("close.export_intro")),
    h("p", {}, exportLink("/api/v1/me/practice/export", "erdv-agenda.fhir.json", t("close.export"))),
    closing);
}

/** The practice's switch: a mail for each booking, move or cancellation a patient or an
 * application makes (the practice's own changes never mail it). */
async function notificationSettings() {
  const current = await get("/api/v1/me/notifications/settings");
  const mail = checkbox(t("notify.new_booking_mail"), { checked: current.new_booking_mail, id: "new-booking-mail" });
  return section({ heading: "notify-title", title: t("notify.title") },
    form(async () => {
      await put("/api/v1/me/notifications", { new_booking_mail: mail.input.checked });
      notify(t("common.saved"), "success");
    },
    mail.wrap, h("p", { class: "muted" }, t("notify.hint")),
    h("button", { type: "submit" }, t("notify.save"))));
}

// ---- agenda: a day or week time grid -------------------------------------------------------------

const REM_PER_HOUR = 5;
const CANCEL_REASONS = ["practitioner_unavailable", "emergency", "practice_closed", "to_be_rescheduled"]; // a quarter of an hour holds one line of text, half an hour two

/** The practitioner's own agenda: the practice's desk, at /pro/agenda. */
export function agendaView(main) {
  return practiceAgenda(main, session.account.id, "/pro/agenda", t("agenda.title"));
}

/**
 * A practice's days as time grids in its zone (hours down, days across), the opening hours shaded,
 * each appointment a button that opens its details with "move", "cancel" and, once it has
 * started, its outcome; "New appointment" books a free slot for one of the practice's patients or
 * for someone without an account (by phone). For the practitioner and for each of the practice's
 * secretaries alike (the server decides who may: app/booking/desk.py). Day view opens on today;
 * week view on the week holding today (Monday first).
 */
export async function practiceAgenda(main, practiceId, path, title) {
  main.append(heading(title));
  const availability = await get(`/api/v1/practices/${practiceId}/hours`);
  const tz = availability.timezone;
  const params = new URLSearchParams(window.location.search);
  const today = dayKey(new Date().toISOString(), tz);
  const narrow = !window.matchMedia("(min-width: 48rem)").matches;
  let mode = params.get("view") === "week" || params.get("view") === "day" ? params.get("view") : narrow ? "day" : "week";
  let first = /^\d{4}-\d{2}-\d{2}$/.test(params.get("date") || "") ? params.get("date") : today;
  if (mode === "week") first = mondayOf(first);
  const dayButton = h("button", { type: "button", class: "secondary", id: "agenda-day", "aria-pressed": "false" }, t("agenda.day"));
  const weekButton = h("button", { type: "button", class: "secondary", id: "agenda-week", "aria-pressed": "false" }, t("agenda.week"));
  const prev = h("button", { type: "button", class: "secondary" }, t("agenda.prev"));
  const todayButton = h("button", { type: "button", class: "secondary" }, t("agenda.today"));
  const next = h("button", { type: "button", class: "secondary" }, t("agenda.next"));
  const range = h("p", { class: "range", "aria-live": "polite" });
  const create = h("button", { type: "button", id: "agenda-new", on: { click: () => newBooking() } }, t("desk.new"));
  const body = h("div", { class: "agenda" });
  const details = h("div", { id: "agenda-details" });
  main.append(h("div", { class: "toolbar", role: "group", "aria-label": t("agenda.view") }, dayButton, weekButton, create),
    h("div", { class: "week-nav" }, prev, todayButton, range, next), details, body);
  const daysShown = () => (mode === "day" ? 1 : 7);
  dayButton.addEventListener("click", () => {
    // the day shown is today when the week on screen holds it, else that week's first day
    if (mode === "week" && today >= first && today < addDaysKey(first, 7)) first = today;
    mode = "day";
    load();
  });
  weekButton.addEventListener("click", () => { mode = "week"; first = mondayOf(first); load(); });
  prev.addEventListener("click", () => { first = addDaysKey(first, -daysShown()); load(); });
  next.addEventListener("click", () => { first = addDaysKey(first, daysShown()); load(); });
  todayButton.addEventListener("click", () => { first = mode === "week" ? mondayOf(today) : today; load(); });

  async function load() {
    dayButton.setAttribute("aria-pressed", String(mode === "day"));
    weekButton.setAttribute("aria-pressed", String(mode === "week"));
    const days = [];
    for (let i = 0; i < daysShown(); i += 1) days.push(addDaysKey(first, i));
    const end = addDaysKey(first, daysShown());
    clear(range, mode === "day" ? fmtDayKey(first) : t("book.range", { from: fmtDayKey(first), to: fmtDayKey(days[days.length - 1]) }));
    clear(details);
    clear(body, loading());
    window.history.replaceState(null, "", `${path}${query({ view: mode, date: first })}`);
    let items;
    let holds;
    try {
      const within = query({ from: startOfDayIn(first, tz).toISOString(), to: startOfDayIn(end, tz).toISOString() });
      // the slots the waiting list holds for a patient: why a time is not among the free ones
      [items, holds] = await Promise.all([
        get(`/api/v1/practices/${practiceId}/agenda${within}`), get(`/api/v1/practices/${practiceId}/holds${within}`),
      ]);
    } catch (error) {
      clear(body);
      showError(error);
      return;
    }
    const active = items.filter((a) => a.status !== "cancelled");
    const cancelled = items.filter((a) => a.status === "cancelled");
    clear(body, timeGrid(days, active, holds, availability.weekly, tz, today, (a) => showDetails(a), (key, minutes) => bookAt(key, minutes)));
    if (cancelled.length) {
      body.append(section({ heading: "agenda-cancelled", title: t("agenda.cancelled"), class: "agenda-cancelled" },
        h("ul", { class: "agenda-list" }, cancelled.map((a) => h("li", { class: "card cancelled" },
          `${fmtDayKey(dayKey(a.start, tz), "short")} ${span(a, tz)} · ${a.patient.full_name || t("agenda.no_name")}`)))));
    }
    if (items.length === 0 && holds.length === 0) notify(t("agenda.empty"));
  }

  function showDetails(a) {
    const box = h("section", { class: "confirm agenda-item", "aria-labelledby": "item-title", tabindex: "-1" },
      h("h2", { id: "item-title" }, a.end === a.start ? fmtDateTime(a.start, tz) : `${fmtDateTime(a.start, tz)} – ${fmtTime(a.end, tz)}`),
      h("dl", { class: "facts" },
        h("dt", {}, t("agenda.patient")), h("dd", {}, a.patient.full_name),
        h("dt", {}, t("field.phone")), h("dd", {}, a.patient.phone || "—"),
        ...(a.patient.email ? [h("dt", {}, t("field.email")), h("dd", {}, a.patient.email)] : []),
        ...(a.patient.no_shows ? [h("dt", {}, t("desk.no_shows_label")), h("dd", {}, t("desk.no_shows", { n: a.patient.no_shows }))] : []),
        h("dt", {}, t("book.reason")), h("dd", {}, a.visit_reason || t("agenda.reason_erased")),
        h("dt", {}, t("agenda.channel")), h("dd", {}, t(`channel.${a.channel}`, a.channel)),
        h("dt", {}, t("desk.status")), h("dd", { id: "agenda-status" }, t(`status.${a.status}`, a.status))));
    const started = Date.parse(a.start) <= Date.now();
    // the practice's reason, told to the patient: a fixed list, never free text (no health data in mails)
    const why = field(t("desk.cancel_reason"), { tag: "select", id: "cancel-reason",
      options: [["", t("desk.cancel_reason_none")], ...CANCEL_REASONS.map((r) => [r, t(`cancel_reason.${r}`)])] });
    const actions = h("div", { class: "actions" },
      ...(started
        ? [h("button", { type: "button", class: "secondary", id: "agenda-completed", on: { click: () => outcome(a, "completed") } }, t("desk.mark_completed")),
          h("button", { type: "button", class: "secondary", id: "agenda-no-show", on: { click: () => outcome(a, "no_show") } }, t("desk.mark_no_show"))]
        : [h("button", { type: "button", class: "secondary", id: "agenda-move", on: { click: () => move(box, a) } }, t("appointments.reschedule")),
          why.wrap,
          h("button", { type: "button", class: "danger", id: "agenda-cancel", on: { click: () => cancelIt(a, why.input.value) } }, t("appointments.cancel"))]),
      h("button", { type: "button", class: "link-button", on: { click: () => clear(details) } }, t("agenda.close")));
    box.append(actions);
    clear(details, box);
    box.focus();
  }

  async function outcome(a, status) {
    try {
      await post(`/api/v1/appointments/${a.id}/status`, { status });
      await load();
      notify(t(`desk.marked_${status}`, { name: a.patient.full_name }), "success");
    } catch (error) { showError(error); }
  }

  /** A click in a free stretch of the opening hours: the free slot there, if there is one
   * (the keyboard's way is the "New appointment" button, which lists the same slots). */
  async function bookAt(key, minutes) {
    const profile = deskProfile();
    if (!profile.visit_reasons.length) return;
    const reason = profile.visit_reasons[0];
    try {
      const free = await get(`/api/v1/practices/${practiceId}/slots${query({
        from: startOfDayIn(key, tz).toISOString(), to: startOfDayIn(addDaysKey(key, 1), tz).toISOString(), visit_reason_id: reason.id,
      })}`);
      const slot = free.find((s) => localMinutes(s.start, tz) <= minutes && minutes < localMinutes(s.start, tz) + reason.duration_minutes);
      if (!slot) {
        notify(t("desk.cell_taken"), "error");
        return;
      }
      await newBooking({ start: slot.start, reason: reason.id });
    } catch (error) { showError(error); }
  }

  /** What the slot picker needs, from the practice's own hours: its reasons, zone and a year. */
  function deskProfile() {
    return { id: practiceId, timezone: tz, visit_reasons: availability.visit_reasons, booking_rules: { max_horizon_days: 366 } };
  }

  /** A free slot (the practice's own list: no minimum notice), then whom it is for: one of the
   * practice's patients found by name, or someone without an account (name, and a phone or an
   * address). */
  async function newBooking(initial = null) {
    const profile = deskProfile();
    const box = h("section", { class: "confirm agenda-item", "aria-labelledby": "new-title", tabindex: "-1" },
      h("h2", { id: "new-title" }, t("desk.new")));
    clear(details, box);
    slotPicker(box, profile, { initial, slotsPath: `/api/v1/practices/${practiceId}/slots`, onPick: (slot, reason) => whoFor(box, slot, reason) });
    box.append(h("button", { type: "button", class: "link-button", on: { click: () => clear(details) } }, t("agenda.close")));
    box.focus();
  }

  function whoFor(box, slot, reason) {
    box.querySelector(".who")?.remove();
    const when = fmtDateTime(slot.start, tz);
    const search = field(t("desk.search"), { id: "patient-search", type: "search", autocomplete: "off" }, t("desk.search_hint"));
    const results = h("div", { id: "patient-results", role: "radiogroup", "aria-label": t("desk.known") });
    const name = field(t("desk.walkin_name"), { id: "walkin-name", autocomplete: "off", maxlength: 200 });
    const phone = field(t("field.phone"), { id: "walkin-phone", type: "tel", autocomplete: "off" });
    const email = field(t("field.email"), { id: "walkin-email", type: "email", autocomplete: "off" });
    let timer = null;
    search.input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const q = search.input.value.trim();
        if (q.length < 2) { clear(results); return; }
        try {
          const found = await get(`/api/v1/practices/${practiceId}/patients${query({ q })}`);
          clear(results, ...(found.length ? found.map((p) => {
            const id = `known-${p.id}`;
            return h("div", { class: "check" }, h("input", { type: "radio", name: "known-patient", id, value: p.id }),
              h("label", { for: id }, p.phone ? `${p.full_name} · ${p.phone}` : p.full_name));
          }) : [h("p", {}, t("desk.none_found"))]));
        } catch (error) { showError(error); }
      }, 250);
    });
    const key = crypto.randomUUID();
    const panel = h("div", { class: "who" }, h("h3", { id: "who-title" }, t("desk.who", { when, reason: reason.label })),
      h("fieldset", {}, h("legend", {}, t("desk.known")), search.wrap, results),
      h("fieldset", {}, h("legend", {}, t("desk.walkin")), h("div", { class: "grid" }, name.wrap, phone.wrap, email.wrap)),
      h("button", { type: "button", id: "desk-book", on: { click: async () => {
        const known = results.querySelector("input:checked");
        const body = { visit_reason_id: reason.id, start: slot.start };
        let who;
        if (known) {
          body.patient_id = known.value;
          who = known.labels[0].textContent.split(" · ")[0];
        } else {
          const person = { full_name: name.input.value.trim() };
          if (phone.input.value.trim()) person.phone = phone.input.value.trim();
          if (email.input.value.trim()) person.email = email.input.value.trim();
          if (person.full_name.length < 2 || !(person.phone || person.email)) {
            notify(t("desk.who_first"), "error");
            (person.full_name.length < 2 ? name.input : phone.input).focus();
            return;
          }
          body.patient = person;
          who = person.full_name;
        }
        try {
          await post(`/api/v1/practices/${practiceId}/appointments`, body, { "Idempotency-Key": key });
          first = mode === "week" ? mondayOf(dayKey(slot.start, tz)) : dayKey(slot.start, tz);
          await load();
          notify(t("desk.booked", { name: who, when }), "success");
        } catch (error) { showError(error); }
      } } }, t("desk.book")));
    box.append(panel);
    search.input.focus();
  }

  async function cancelIt(a, reason) {
    if (!window.confirm(t("agenda.cancel_confirm", { name: a.patient.full_name, when: fmtDateTime(a.start, tz) }))) return;
    try {
      await post(`/api/v1/appointments/${a.id}/cancel`, reason ? { reason } : undefined);
      await load();
      notify(t("agenda.cancelled_done", { name: a.patient.full_name }), "success");
    } catch (error) { showError(error); }
  }

  async function move(box, a) {
    box.querySelector(".reschedule")?.remove();
    const panel = h("div", { class: "reschedule" }, h("h3", {}, t("appointments.reschedule_title")));
    box.append(panel);
    if (!a.visit_reason_id) {
      panel.append(empty(t("agenda.cannot_move")));
      return;
    }
    slotPicker(panel, deskProfile(), {
      fixedReason: a.visit_reason_id,
      slotsPath: `/api/v1/practices/${practiceId}/slots`,
      onPick: (slot) => confirmMove(panel, a, slot, tz, async () => {
        try {
          await post(`/api/v1/appointments/${a.id}/reschedule`, { start: slot.start });
          first = mode === "week" ? mondayOf(dayKey(slot.start, tz)) : dayKey(slot.start, tz);
          await load();
          notify(t("agenda.moved", { name: a.patient.full_name, when: fmtDateTime(slot.start, tz) }), "success");
        } catch (error) { showError(error); }
      }),
    });
  }

  load();
}

/** The Monday of the week holding a day (YYYY-MM-DD). */
function mondayOf(key) {
  const [y, m, d] = key.split("-").map(Number);
  const weekday = (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7;
  return addDaysKey(key, -weekday);
}

/** Minutes since local midnight of an instant in a zone. */
function localMinutes(iso, tz) {
  const [hh, mm] = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: tz }).format(new Date(iso)).split(":").map(Number);
  return hh * 60 + mm;
}

function timeGrid(days, items, holds, weekly, tz, today, onOpen, onFree) {
  // the hours shown: the opening hours and the appointments, at least 08:00-19:00
  let from = 8 * 60;
  let to = 19 * 60;
  const hhmm = (v) => Number(v.slice(0, 2)) * 60 + Number(v.slice(3, 5));
  for (const b of weekly) { from = Math.min(from, hhmm(b.start)); to = Math.max(to, hhmm(b.end)); }
  for (const a of [...items, ...holds]) { from = Math.min(from, localMinutes(a.start, tz)); to = Math.max(to, localMinutes(a.end, tz) || 24 * 60); }
  from = Math.floor(from / 60) * 60;
  to = Math.min(24 * 60, Math.ceil(to / 60) * 60);
  const rem = (minutes) => `${(minutes / 60) * REM_PER_HOUR}rem`;
  const grid = h("div", { class: `timegrid days-${days.length}` });
  const hours = h("div", { class: "hours", "aria-hidden": "true" });
  hours.style.height = rem(to - from);
  for (let m = from; m < to; m += 60) {
    const label = h("span", { class: "hour" }, `${String(m / 60).padStart(2, "0")}:00`);
    label.style.top = rem(m - from);
    hours.append(label);
  }
  grid.append(h("div", { class: "corner" }), ...days.map((key) => h("h2", { class: `col-head${key === today ? " today" : ""}`, id: `day-${key}` }, fmtDayKey(key, "short"))), hours);
  for (const key of days) {
    const weekday = (new Date(`${key}T12:00:00Z`).getUTCDay() + 6) % 7;
    const column = h("section", { class: `day-col${key === today ? " today" : ""}`, "aria-labelledby": `day-${key}` });
    column.style.height = rem(to - from);
    for (const b of weekly.filter((x) => x.weekday === weekday)) {
      const open = h("div", { class: "open-hours", "aria-hidden": "true" });
      open.style.top = rem(hhmm(b.start) - from);
      open.style.height = rem(hhmm(b.end) - hhmm(b.start));
      if (onFree) {
        // a pointer's shortcut: the time under it; "New appointment" is the same for the keyboard
        open.classList.add("bookable");
        open.addEventListener("click", (event) => {
          const box = open.getBoundingClientRect();
          const minutes = hhmm(b.start) + Math.floor(((event.clientY - box.top) / box.height) * (hhmm(b.end) - hhmm(b.start)));
          onFree(key, minutes);
        });
      }
      column.append(open);
    }
    const todays = items.filter((a) => dayKey(a.start, tz) === key).sort((a, b) => a.start.localeCompare(b.start));
    const list = h("ol", { class: "visits" });
    for (const a of todays) {
      const start = localMinutes(a.start, tz);
      const length = Math.max(15, (Date.parse(a.end) - Date.parse(a.start)) / 60000);
      const item = h("li", { class: `visit ${a.status}` },
        h("button", { type: "button", class: "visit-button", "data-appointment": a.id, on: { click: () => onOpen(a) } },
          h("span", { class: "visit-time" }, span(a, tz)), " ",
          h("span", { class: "visit-name" }, a.patient.full_name || t("agenda.no_name")),
          a.status === "booked" ? null : h("span", { class: "visit-status" }, ` · ${t(`status.${a.status}`, a.status)}`)));
      item.style.top = rem(start - from);
      item.style.height = rem(length);
      list.append(item);
    }
    // held for a waiting patient (times only: who waits is theirs), until the hold ends
    for (const held of holds.filter((x) => dayKey(x.start, tz) === key)) {
      const times = `${fmtTime(held.start, tz)}–${fmtTime(held.end, tz)}`;
      const what = t("agenda.held", { until: until(held, tz) });
      // a narrow column cuts the text: the whole of it on hover
      const item = h("li", { class: "visit held", title: `${times} ${what}` },
        h("span", { class: "visit-time" }, times), " ", h("span", { class: "visit-name" }, what));
      item.style.top = rem(localMinutes(held.start, tz) - from);
      item.style.height = rem(Math.max(15, (Date.parse(held.end) - Date.parse(held.start)) / 60000));
      list.append(item);
    }
    if (todays.length === 0) column.append(h("p", { class: "visually-hidden" }, t("agenda.free_day")));
    column.append(list);
    grid.append(column);
  }
  return h("div", { class: "timegrid-wrap" }, grid);
}

/** When a hold ends: its time, and its day too when that is not the held slot's (a hold made
 * today for a slot next week ends today). */
function until(held, tz) {
  const day = dayKey(held.hold_until, tz);
  return day === dayKey(held.start, tz) ? fmtTime(held.hold_until, tz) : `${fmtDayKey(day, "short")} ${fmtTime(held.hold_until, tz)}`;
}

/** A visit's times; a past one keeps its start only (its length could name its reason, C7). */
function span(a, tz) {
  return a.end === a.start ? fmtTime(a.start, tz) : `${fmtTime(a.start, tz)}–${fmtTime(a.end, tz)}`;
}

// ---- opening hours -------------------------------------------------------------------------------

export async function hoursView(main) {
  main.append(heading(t("hours.title")), h("p", {}, t("hours.intro")));
  const [availability, reasons, sites] = await Promise.all([
    get("/api/v1/me/availability"), get("/api/v1/me/visit-reasons"), get("/api/v1/me/sites"),
  ]);
  if (reasons.length === 0) {
    main.append(empty(t("hours.need_reasons")), h("p", {}, link("/pro/reasons", t("nav.reasons"))));
    return;
  }
  const rows = h("ol", { class: "blocks", id: "hours-blocks" });
  const addRow = (block) => {
    const n = rows.children.length + 1;
    const weekday = field(t("hours.weekday"), { tag: "select", class: "weekday", options: [0, 1, 2, 3, 4, 5, 6].map((d) => [String(d), t(`weekday.${d}`)]) });
    weekday.input.value = String(block.weekday);
    const startField = field(t("hours.start"), { type: "time", class: "start", required: true, value: block.start });
    const endField = field(t("hours.end"), { type: "time", class: "end", required: true, value: block.end });
    const boxes = reasons.map((r) => checkbox(r.label, { class: "reason", value: r.id, checked: block.visit_reason_ids.includes(r.id) }));
    // the site the block is held at: asked only of a practice with several (issue 26)
    const site = field(t("sites.where"), { tag: "select", class: "site", options: sites.map((x) => [x.id, x.label]) });
    site.input.value = block.site_id || (sites[0] ? sites[0].id : "");
    site.wrap.hidden = sites.length < 2;
    const row = h("li", { class: "card block" },
      h("fieldset", {}, h("legend", {}, t("hours.block", { n })),
        h("div", { class: "grid" }, weekday.wrap, startField.wrap, endField.wrap, site.wrap),
        h("fieldset", { class: "reasons" }, h("legend", {}, t("hours.reasons")), boxes.map((b) => b.wrap)),
        h("button", { type: "button", class: "danger", on: { click: () => { row.remove(); notify(t("hours.removed")); } } }, t("hours.remove"))));
    rows.append(row);
    return row;
  };
  for (const block of availability.weekly) addRow(block);
  // a visit reason named by no block has no slot at all: say which
  const offered = new Set(availability.weekly.flatMap((b) => b.visit_reason_ids));
  const idle = reasons.filter((r) => !offered.has(r.id));
  if (availability.weekly.length && idle.length) {
    main.append(empty(t("hours.idle_reasons", { labels: idle.map((r) => r.label).join(", ") }), { id: "idle-reasons" }));
  }
  const add = h("button", { type: "button", class: "secondary", id: "add-block", on: { click: () => {
    const row = addRow({ weekday: 0, start: "09:00", end: "12:00", visit_reason_ids: reasons.map((r) => r.id), site_id: null });
    row.querySelector("select").focus();
  } } }, t("hours.add"));
  main.append(form(async () => {
    const weekly = [...rows.querySelectorAll("li.block")].map((row) => ({
      weekday: Number(row.querySelector("select.weekday").value),
      start: row.querySelector("input.start").value.slice(0, 5),
      end: row.querySelector("input.end").value.slice(0, 5),
      visit_reason_ids: [...row.querySelectorAll("input.reason:checked")].map((c) => c.value),
      site_id: row.querySelector("select.site").value || null,
    }));
    await put("/api/v1/me/availability", { timezone: availability.timezone, weekly });
    notify(t("common.saved"), "success");
  }, rows, h("p", { class: "actions" }, add, h("button", { type: "submit", id: "save-hours" }, t("common.save")))));
  if (availability.weekly.length === 0) main.insertBefore(empty(t("hours.none")), main.querySelector("form"));
}

// ---- absences ------------------------------------------------------------------------------------

export async function absencesView(main) {
  main.append(heading(t("absences.title")));
  // an absence is typed and read in the practice's wall clock, as its opening hours are, whatever
  // zone the browser is in: the API answers in that clock and takes an instant with its offset
  const [absences, availability] = await Promise.all([get("/api/v1/me/absences"), get("/api/v1/me/availability")]);
  const tz = availability.timezone;
  const zoneNote = t("appointments.local_time", { zone: tz });
  const elsewhere = tz !== Intl.DateTimeFormat().resolvedOptions().timeZone;
  const listSection = section({ heading: "abs-list", title: t("absences.list") }, cards(absences, (a) => h("li", { class: "card" },
    h("p", {}, `${fmtDateTime(a.start, tz)} → ${fmtDateTime(a.end, tz)}`, elsewhere ? ` (${zoneNote})` : ""),
    h("button", { type: "button", class: "danger", on: { click: async () => {
      try { await del(`/api/v1/me/absences/${a.id}`); await nav.go("/pro/absences", { replace: true }); notify(t("absences.deleted"), "success"); } catch (error) { showError(error); }
    } } }, t("common.delete"))), t("absences.empty")));
  const start = field(t("absences.start"), { type: "datetime-local", required: true }, zoneNote);
  const end = field(t("absences.end"), { type: "datetime-local", required: true }, zoneNote);
  const cancel = checkbox(t("absences.cancel"));
  main.append(listSection, section({ heading: "abs-new", title: t("absences.new") },
    form(async () => {
      const created = await post("/api/v1/me/absences", {
        start: instantIn(start.input.value, tz),
        end: instantIn(end.input.value, tz),
        cancel_appointments: cancel.input.checked,
      });
      await nav.go("/pro/absences", { replace: true });
      notify(t("absences.created", { n: created.cancelled_appointments || 0 }), "success");
    }, h("div", { class: "grid" }, start.wrap, end.wrap), cancel.wrap, h("button", { type: "submit" }, t("absences.add")))));
}

// ---- visit reasons -------------------------------------------------------------------------------

export async function reasonsView(main) {
  main.append(heading(t("reasons.title")), h("p", {}, t("reasons.intro")));
  const [reasons, availability] = await Promise.all([get("/api/v1/me/visit-reasons"), get("/api/v1/me/availability")]);
  const offered = new Set(availability.weekly.flatMap((b) => b.visit_reason_ids));
  main.append(table([t("reasons.label"), t("reasons.duration"), t("reasons.new_patients"), t("reasons.in_hours"), t("common.actions")],
    reasons.map((r) => [r.label, t("common.minutes", { n: r.duration_minutes }), r.new_patients ? t("common.yes") : t("common.no"),
      offered.has(r.id) ? t("common.yes") : h("span", {}, t("reasons.not_in_hours"), " ", link("/pro/hours", t("nav.hours"))),
      h("button", { type: "button", class: "danger", "aria-label": `${t("common.delete")} ${r.label}`, on: { click: async () => {
        try { await del(`/api/v1/me/visit-reasons/${r.id}`); await nav.go("/pro/reasons", { replace: true }); notify(t("reasons.deleted"), "success"); } catch (error) { showError(error); }
      } } }, t("common.delete"))]), t("reasons.empty")));
  const label = field(t("reasons.label"), { required: true, minlength: 2, maxlength: 80 });
  const duration = field(t("reasons.duration_minutes"), { type: "number", required: true, min: 5, max: 480, step: 5, value: 20 });
  const newPatients = checkbox(t("reasons.new_patients"), { checked: true });
  // a new reason has no slot until the opening hours name it: offered everywhere unless unticked
  const everywhere = checkbox(t("reasons.offer_everywhere"), { checked: true, id: "offer-everywhere" });
  main.append(section({ heading: "reason-new", title: t("reasons.new") },
    form(async () => {
      const inAllHours = everywhere.input.checked;
      await post("/api/v1/me/visit-reasons", {
        label: label.input.value.trim(),
        duration_minutes: Number(duration.input.value),
        new_patients: newPatients.input.checked,
        offer_in_all_hours: inAllHours,
      });
      await nav.go("/pro/reasons", { replace: true });
      // "offered in all your hours" only when there are hours to offer it in
      const said = availability.weekly.length === 0 ? "reasons.created_no_hours" : inAllHours ? "reasons.created_everywhere" : "reasons.created_nowhere";
      notify(t(said), "success");
    }, h("div", { class: "grid" }, label.wrap, duration.wrap), newPatients.wrap, everywhere.wrap, h("button", { type: "submit" }, t("reasons.add")))));
  main.append(askNoReason(reasons));
}

/**
 * Charter C6: a reason is asked only if the practitioner wants one. Asking none replaces the list by
 * one generic reason (every opening block offers it, nothing is stored about why); adding a named
 * reason above asks again.
 */
function askNoReason(reasons) {
  const generic = reasons.find((r) => r.generic);
  if (generic) {
    return section({ heading: "no-reason-title", title: t("reasons.none_title"), id: "no-reason" },
      h("p", {}, t("reasons.none_active", { n: generic.duration_minutes })));
  }
  const duration = field(t("reasons.generic_duration"), { type: "number", required: true, min: 5, max: 480, step: 5, value: 20, id: "generic-duration" });
  return section({ heading: "no-reason-title", title: t("reasons.none_title"), id: "no-reason" },
    form(async () => {
      if (reasons.length && !window.confirm(t("reasons.none_confirm"))) return;
      await post("/api/v1/me/visit-reasons", { generic: true, duration_minutes: Number(duration.input.value) });
      await nav.go("/pro/reasons", { replace: true });
      notify(t("reasons.none_done"), "success");
    }, h("p", {}, t("reasons.none_intro")), duration.wrap, h("button", { type: "submit", class: "secondary" }, t("reasons.none_submit"))));
}
