// Practitioner: status and profile, booking rules, charter purposes, agenda, hours, absences, reasons.
import { get, post, put, del, query } from "./api.js";
import { h, clear, field, checkbox } from "./dom.js";
import { t, lang } from "./i18n.js";
import { session, nav, link, notify, showError, heading, loading, fmtDay, fmtTime, fmtDateTime, dayKey } from "./state.js";
import { professions } from "./public.js";
import { consentSection, table } from "./patient.js";

const SECTIONS = { agenda: agendaView, hours: hoursView, absences: absencesView, reasons: reasonsView };

export async function proView(main, section) {
  if (!session.account || session.account.role !== "practitioner") {
    sessionStorage.setItem("erdv.after_login", window.location.pathname);
    main.append(heading(t("signin.required")), h("p", {}, link("/login", t("nav.login"), { class: "button" })));
    return;
  }
  if (!section) return practiceView(main);
  const view = SECTIONS[section];
  if (!view) {
    main.append(heading(t("notfound.title")));
    return;
  }
  return view(main);
}

function submitForm(onSubmit, ...children) {
  return h("form", { on: { submit: async (event) => {
    event.preventDefault();
    try { await onSubmit(); } catch (error) { showError(error); }
  } } }, ...children);
}

async function practiceView(main) {
  main.append(heading(t("practice.title")));
  const [practice, list, charter, consents] = await Promise.all([
    get("/api/v1/me/practice"), professions(), get(`/api/v1/charter?lang=${lang()}`), get("/api/v1/me/consents"),
  ]);
  const status = h("section", { "aria-labelledby": "status-title", class: `status-box ${practice.status}` },
    h("h2", { id: "status-title" }, t("practice.status")),
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
  const rules = practice.booking_rules;
  const notice = field(t("rules.min_notice"), { type: "number", min: 0, value: rules.min_notice_minutes });
  const horizon = field(t("rules.max_horizon"), { type: "number", min: 1, max: 366, value: rules.max_horizon_days });
  const deadline = field(t("rules.cancel_deadline"), { type: "number", min: 0, value: rules.cancel_deadline_minutes });
  main.append(h("section", { "aria-labelledby": "profile-title" }, h("h2", { id: "profile-title" }, t("practice.profile")),
    submitForm(async () => {
      const body = {
        display_name: name.input.value.trim(),
        address: address.input.value.trim(),
        city: city.input.value.trim(),
        fees: fees.input.value.trim(),
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
    h("div", { class: "grid" }, name.wrap, profession.wrap, specialty.wrap, address.wrap, city.wrap, sector.wrap, fees.wrap),
    h("fieldset", {}, h("legend", {}, t("rules.title")), h("div", { class: "grid" }, notice.wrap, horizon.wrap, deadline.wrap)),
    h("button", { type: "submit" }, t("common.save")))));
  main.append(consentSection(charter, consents, "practitioner", "/pro"));
}

// ---- agenda --------------------------------------------------------------------------------------

async function agendaView(main) {
  main.append(heading(t("agenda.title")));
  const params = new URLSearchParams(window.location.search);
  let mode = params.get("view") === "day" ? "day" : "week";
  let start = startOfDay(params.get("date") ? new Date(`${params.get("date")}T00:00:00`) : new Date());
  const dayButton = h("button", { type: "button", class: "secondary", "aria-pressed": "false" }, t("agenda.day"));
  const weekButton = h("button", { type: "button", class: "secondary", "aria-pressed": "false" }, t("agenda.week"));
  const prev = h("button", { type: "button", class: "secondary" }, t("agenda.prev"));
  const today = h("button", { type: "button", class: "secondary" }, t("agenda.today"));
  const next = h("button", { type: "button", class: "secondary" }, t("agenda.next"));
  const range = h("p", { class: "range", "aria-live": "polite" });
  const body = h("div", { class: "agenda" });
  main.append(h("div", { class: "toolbar", role: "group", "aria-label": t("agenda.view") }, dayButton, weekButton),
    h("div", { class: "week-nav" }, prev, today, range, next), body);
  const span = () => (mode === "day" ? 1 : 7);
  dayButton.addEventListener("click", () => { mode = "day"; load(); });
  weekButton.addEventListener("click", () => { mode = "week"; if (start.getDay() !== 1) start = monday(start); load(); });
  prev.addEventListener("click", () => { start = addDays(start, -span()); load(); });
  next.addEventListener("click", () => { start = addDays(start, span()); load(); });
  today.addEventListener("click", () => { start = mode === "week" ? monday(new Date()) : startOfDay(new Date()); load(); });
  if (mode === "week") start = monday(start);

  async function load() {
    dayButton.setAttribute("aria-pressed", String(mode === "day"));
    weekButton.setAttribute("aria-pressed", String(mode === "week"));
    const end = addDays(start, span());
    clear(range, mode === "day" ? fmtDay(start.toISOString()) : t("book.range", { from: fmtDay(start.toISOString()), to: fmtDay(addDays(end, -1).toISOString()) }));
    clear(body, loading());
    try {
      const items = await get(`/api/v1/me/agenda${query({ from: start.toISOString(), to: end.toISOString() })}`);
      clear(body);
      const days = [];
      for (let i = 0; i < span(); i += 1) days.push(addDays(start, i));
      let any = false;
      for (const day of days) {
        const key = dayKey(day.toISOString());
        const todays = items.filter((a) => dayKey(a.start) === key).sort((a, b) => a.start.localeCompare(b.start));
        const section = h("section", { class: "day", "aria-label": fmtDay(day.toISOString()) }, h("h2", {}, fmtDay(day.toISOString())));
        if (todays.length === 0) section.append(h("p", { class: "muted" }, t("agenda.free_day")));
        else {
          any = true;
          section.append(h("ul", { class: "agenda-list" }, todays.map((a) => h("li", { class: `card${a.status === "cancelled" ? " cancelled" : ""}` },
            h("p", {}, h("strong", {}, `${fmtTime(a.start)}–${fmtTime(a.end)}`), ` ${a.patient.full_name}`),
            h("p", { class: "muted" }, [a.visit_reason, a.patient.phone, a.status === "cancelled" ? t("appointments.cancelled") : null].filter(Boolean).join(" · "))))));
        }
        body.append(section);
      }
      if (!any) notify(t("agenda.empty"));
    } catch (error) {
      clear(body);
      showError(error);
    }
  }
  load();
}

function startOfDay(date) {
  const d = new Date(date);
  d.setHours(0, 0, 0, 0);
  return d;
}
function addDays(date, days) {
  const d = new Date(date);
  d.setDate(d.getDate() + days);
  return d;
}
function monday(date) {
  const d = startOfDay(date);
  return addDays(d, -((d.getDay() + 6) % 7));
}

// ---- opening hours -------------------------------------------------------------------------------

async function hoursView(main) {
  main.append(heading(t("hours.title")), h("p", {}, t("hours.intro")));
  const [availability, reasons] = await Promise.all([get("/api/v1/me/availability"), get("/api/v1/me/visit-reasons")]);
  if (reasons.length === 0) {
    main.append(h("p", { class: "empty" }, t("hours.need_reasons")), h("p", {}, link("/pro/reasons", t("nav.reasons"))));
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
    const row = h("li", { class: "card block" },
      h("fieldset", {}, h("legend", {}, t("hours.block", { n })),
        h("div", { class: "grid" }, weekday.wrap, startField.wrap, endField.wrap),
        h("fieldset", { class: "reasons" }, h("legend", {}, t("hours.reasons")), boxes.map((b) => b.wrap)),
        h("button", { type: "button", class: "danger", on: { click: () => { row.remove(); notify(t("hours.removed")); } } }, t("hours.remove"))));
    rows.append(row);
    return row;
  };
  for (const block of availability.weekly) addRow(block);
  const add = h("button", { type: "button", class: "secondary", id: "add-block", on: { click: () => {
    const row = addRow({ weekday: 0, start: "09:00", end: "12:00", visit_reason_ids: reasons.map((r) => r.id) });
    row.querySelector("select").focus();
  } } }, t("hours.add"));
  main.append(submitForm(async () => {
    const weekly = [...rows.querySelectorAll("li.block")].map((row) => ({
      weekday: Number(row.querySelector("select.weekday").value),
      start: row.querySelector("input.start").value.slice(0, 5),
      end: row.querySelector("input.end").value.slice(0, 5),
      visit_reason_ids: [...row.querySelectorAll("input.reason:checked")].map((c) => c.value),
    }));
    await put("/api/v1/me/availability", { timezone: availability.timezone, weekly });
    notify(t("common.saved"), "success");
  }, rows, h("p", { class: "actions" }, add, h("button", { type: "submit", id: "save-hours" }, t("common.save")))));
  if (availability.weekly.length === 0) main.insertBefore(h("p", { class: "empty" }, t("hours.none")), main.querySelector("form"));
}

// ---- absences ------------------------------------------------------------------------------------

async function absencesView(main) {
  main.append(heading(t("absences.title")));
  const absences = await get("/api/v1/me/absences");
  const listSection = h("section", { "aria-labelledby": "abs-list" }, h("h2", { id: "abs-list" }, t("absences.list")));
  if (absences.length === 0) listSection.append(h("p", { class: "empty" }, t("absences.empty")));
  else {
    listSection.append(h("ul", { class: "cards" }, absences.map((a) => h("li", { class: "card" },
      h("p", {}, `${fmtDateTime(a.start)} → ${fmtDateTime(a.end)}`),
      h("button", { type: "button", class: "danger", on: { click: async () => {
        try { await del(`/api/v1/me/absences/${a.id}`); await nav.go("/pro/absences", { replace: true }); notify(t("absences.deleted"), "success"); } catch (error) { showError(error); }
      } } }, t("common.delete"))))));
  }
  const start = field(t("absences.start"), { type: "datetime-local", required: true });
  const end = field(t("absences.end"), { type: "datetime-local", required: true });
  const cancel = checkbox(t("absences.cancel"));
  main.append(listSection, h("section", { "aria-labelledby": "abs-new" }, h("h2", { id: "abs-new" }, t("absences.new")),
    submitForm(async () => {
      const created = await post("/api/v1/me/absences", {
        start: new Date(start.input.value).toISOString(),
        end: new Date(end.input.value).toISOString(),
        cancel_appointments: cancel.input.checked,
      });
      await nav.go("/pro/absences", { replace: true });
      notify(t("absences.created", { n: created.cancelled_appointments || 0 }), "success");
    }, h("div", { class: "grid" }, start.wrap, end.wrap), cancel.wrap, h("button", { type: "submit" }, t("absences.add")))));
}

// ---- visit reasons -------------------------------------------------------------------------------

async function reasonsView(main) {
  main.append(heading(t("reasons.title")), h("p", {}, t("reasons.intro")));
  const reasons = await get("/api/v1/me/visit-reasons");
  if (reasons.length === 0) main.append(h("p", { class: "empty" }, t("reasons.empty")));
  else {
    main.append(table([t("reasons.label"), t("reasons.duration"), t("reasons.new_patients"), t("common.actions")],
      reasons.map((r) => [r.label, `${r.duration_minutes} min`, r.new_patients ? t("common.yes") : t("common.no"),
        h("button", { type: "button", class: "danger", "aria-label": `${t("common.delete")} ${r.label}`, on: { click: async () => {
          try { await del(`/api/v1/me/visit-reasons/${r.id}`); await nav.go("/pro/reasons", { replace: true }); notify(t("reasons.deleted"), "success"); } catch (error) { showError(error); }
        } } }, t("common.delete"))])));
  }
  const label = field(t("reasons.label"), { required: true, minlength: 2, maxlength: 80 });
  const duration = field(t("reasons.duration_minutes"), { type: "number", required: true, min: 5, max: 480, step: 5, value: 20 });
  const newPatients = checkbox(t("reasons.new_patients"), { checked: true });
  main.append(h("section", { "aria-labelledby": "reason-new" }, h("h2", { id: "reason-new" }, t("reasons.new")),
    submitForm(async () => {
      await post("/api/v1/me/visit-reasons", { label: label.input.value.trim(), duration_minutes: Number(duration.input.value), new_patients: newPatients.input.checked });
      await nav.go("/pro/reasons", { replace: true });
      notify(t("reasons.created"), "success");
    }, h("div", { class: "grid" }, label.wrap, duration.wrap), newPatients.wrap, h("button", { type: "submit" }, t("reasons.add")))));
}
