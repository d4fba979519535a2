// Everyone: practitioner search, practitioner page with a week of free slots, booking.
import { get, post, query, Problem } from "./api.js";
import { h, clear, field, checkbox } from "./dom.js";
import { t, lang } from "./i18n.js";
import {
  session, nav, link, notify, showError, problemText, heading, loading, fmtDay, fmtTime, fmtDateTime, dayKey,
} from "./state.js";

let professionsCache = null;
export async function professions() {
  if (!professionsCache) professionsCache = await get("/api/v1/professions");
  return professionsCache;
}

export function professionLabel(list, profession, specialty) {
  const found = list.find((p) => p.id === profession);
  if (!found) return profession || "";
  const spec = found.specialties.find((s) => s.id === specialty);
  return spec ? `${found.label} — ${spec.label}` : found.label;
}

export function sectorLabel(sector) {
  return sector ? t(`sector.${sector}`) : t("sector.unknown");
}

export async function homeView(main) {
  const params = new URLSearchParams(window.location.search);
  main.append(heading(t("home.title")), h("p", { class: "lead" }, t("home.lead")));
  const list = await professions();
  const profession = field(t("search.profession"), {
    tag: "select",
    name: "profession",
    options: [["", t("search.any")], ...list.map((p) => [p.id, p.label])],
  });
  const specialty = field(t("search.specialty"), { tag: "select", name: "specialty", options: [["", t("search.any")]] });
  const city = field(t("search.city"), { name: "city", autocomplete: "address-level2" });
  const name = field(t("search.name"), { name: "q", type: "search" });
  const fillSpecialties = () => {
    const chosen = list.find((p) => p.id === profession.input.value);
    clear(specialty.input, h("option", { value: "" }, t("search.any")));
    for (const s of chosen ? chosen.specialties : []) specialty.input.append(h("option", { value: s.id }, s.label));
    specialty.input.disabled = !chosen || chosen.specialties.length === 0;
  };
  profession.input.value = params.get("profession") || "";
  fillSpecialties();
  specialty.input.value = params.get("specialty") || "";
  city.input.value = params.get("city") || "";
  name.input.value = params.get("q") || "";
  profession.input.addEventListener("change", fillSpecialties);
  const results = h("section", { "aria-labelledby": "results-title", class: "results" });
  const form = h(
    "form",
    {
      role: "search",
      class: "search",
      on: {
        submit: (event) => {
          event.preventDefault();
          const q = query({ profession: profession.input.value, specialty: specialty.input.value, city: city.input.value.trim(), q: name.input.value.trim() });
          window.history.replaceState(null, "", `/${q}`);
          search(results, q);
        },
      },
    },
    h("div", { class: "grid" }, profession.wrap, specialty.wrap, city.wrap, name.wrap),
    h("button", { type: "submit" }, t("search.submit")),
  );
  main.append(form, results);
  await search(results, window.location.search);
}

async function search(results, q, cursor, append = false) {
  const params = new URLSearchParams(q);
  if (cursor) params.set("cursor", cursor);
  params.set("limit", "20");
  if (!append) clear(results, h("h2", { id: "results-title" }, t("search.results")), loading());
  let page;
  try {
    page = await get(`/api/v1/practitioners?${params}`);
  } catch (error) {
    clear(results, h("h2", { id: "results-title" }, t("search.results")), h("p", { class: "empty" }, problemText(error)));
    showError(error);
    return;
  }
  const list = await professions();
  let ul = results.querySelector("ul.cards");
  if (!append) {
    clear(results, h("h2", { id: "results-title" }, t("search.results")));
    if (page.items.length === 0) {
      results.append(h("p", { class: "empty" }, t("search.empty")));
      return;
    }
    ul = h("ul", { class: "cards" });
    results.append(ul);
  }
  for (const p of page.items) {
    ul.append(
      h(
        "li",
        { class: "card" },
        h("h3", {}, link(`/practitioners/${p.id}`, p.display_name)),
        h("p", {}, professionLabel(list, p.profession, p.specialty)),
        h("p", { class: "muted" }, `${p.address}`),
        h("p", {}, `${sectorLabel(p.convention_sector)} · ${p.fees}`),
      ),
    );
  }
  results.querySelector("button.more")?.remove();
  if (page.next_cursor) {
    results.append(
      h("button", { type: "button", class: "more secondary", on: { click: () => search(results, q, page.next_cursor, true) } }, t("search.more")),
    );
  }
  notify(t("search.count", { n: ul.children.length }));
}

export async function practitionerView(main, id) {
  let profile;
  try {
    profile = await get(`/api/v1/practitioners/${id}`);
  } catch (error) {
    if (error instanceof Problem && error.status === 404) {
      main.append(heading(t("practitioner.notfound")), h("p", {}, link("/", t("nav.search"))));
      return;
    }
    throw error;
  }
  const list = await professions();
  main.append(
    heading(profile.display_name),
    h("p", { class: "lead" }, professionLabel(list, profile.profession, profile.specialty)),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, t("practitioner.address")), h("dd", {}, profile.address),
      h("dt", {}, t("practitioner.sector")), h("dd", {}, sectorLabel(profile.convention_sector)),
      h("dt", {}, t("practitioner.fees")), h("dd", {}, profile.fees || "—"),
      h("dt", {}, t("practitioner.directory")),
      h("dd", {}, profile.directory_url
        ? h("a", { href: profile.directory_url, rel: "noopener noreferrer", target: "_blank" }, t("practitioner.directory_link"))
        : "—"),
    ),
  );
  if (profile.visit_reasons.length === 0) {
    main.append(h("p", { class: "empty" }, t("practitioner.no_reasons")));
    return;
  }
  const booking = h("section", { "aria-labelledby": "book-title", class: "booking" }, h("h2", { id: "book-title" }, t("book.title")));
  main.append(booking);
  slotPicker(booking, profile, {
    onPick: (slot, reason) => confirmBooking(booking, profile, reason, slot),
  });
}

/**
 * A visit-reason choice and a week of free slots with previous/next; `onPick(slot, reason)`.
 * `fixedReason` skips the choice (rescheduling keeps the visit reason).
 */
export function slotPicker(container, profile, { onPick, fixedReason } = {}) {
  const tz = profile.timezone;
  const reasons = profile.visit_reasons;
  let reason = fixedReason ? reasons.find((r) => r.id === fixedReason) : reasons[0];
  let weekStart = new Date();
  const reasonField = field(t("book.reason"), {
    tag: "select",
    options: reasons.map((r) => [r.id, `${r.label} (${r.duration_minutes} min)${r.new_patients ? "" : ` — ${t("book.known_patients")}`}`]),
  });
  if (!fixedReason) {
    container.append(reasonField.wrap);
    reasonField.input.addEventListener("change", () => {
      reason = reasons.find((r) => r.id === reasonField.input.value);
      load();
    });
  }
  const range = h("p", { class: "range", "aria-live": "polite" });
  const prev = h("button", { type: "button", class: "secondary", on: { click: () => shift(-7) } }, t("book.prev"));
  const next = h("button", { type: "button", class: "secondary", on: { click: () => shift(7) } }, t("book.next"));
  const week = h("div", { class: "week" });
  container.append(h("div", { class: "week-nav" }, prev, range, next), week);

  function shift(days) {
    const moved = new Date(weekStart.getTime() + days * 86400000);
    weekStart = moved < new Date() ? new Date() : moved;
    load();
  }

  async function load() {
    const from = weekStart;
    const to = new Date(from.getTime() + 7 * 86400000);
    prev.disabled = from.getTime() <= Date.now() + 60000;
    clear(range, t("book.range", { from: fmtDay(from.toISOString(), tz), to: fmtDay(new Date(to.getTime() - 1).toISOString(), tz) }));
    clear(week, loading());
    let slots;
    try {
      slots = await get(`/api/v1/practitioners/${profile.id}/slots${query({ from: from.toISOString(), to: to.toISOString(), visit_reason_id: reason.id })}`);
    } catch (error) {
      clear(week, h("p", { class: "empty" }, problemText(error)));
      return;
    }
    clear(week);
    if (slots.length === 0) {
      week.append(h("p", { class: "empty" }, t("book.no_slots")));
      return;
    }
    const days = new Map();
    for (const slot of slots) {
      const key = dayKey(slot.start, tz);
      if (!days.has(key)) days.set(key, []);
      days.get(key).push(slot);
    }
    for (const daySlots of days.values()) {
      const title = fmtDay(daySlots[0].start, tz);
      week.append(
        h(
          "div",
          { class: "day", role: "group", "aria-label": title },
          h("h3", {}, title),
          h(
            "ul",
            { class: "slots" },
            daySlots.map((slot) =>
              h("li", {}, h("button", {
                type: "button",
                class: "slot",
                "aria-label": `${fmtDateTime(slot.start, tz)} — ${reason.label}`,
                on: { click: () => onPick(slot, reason) },
              }, fmtTime(slot.start, tz))),
            ),
          ),
        ),
      );
    }
  }
  load();
}

function confirmBooking(container, profile, reason, slot) {
  container.querySelector(".confirm")?.remove();
  const when = fmtDateTime(slot.start, profile.timezone);
  const box = h("div", { class: "confirm", role: "region", "aria-labelledby": "confirm-title", tabindex: "-1" });
  box.append(h("h3", { id: "confirm-title" }, t("book.confirm_title")), h("p", {}, t("book.summary", { reason: reason.label, when, name: profile.display_name })));
  if (!session.account) {
    sessionStorage.setItem("erdv.after_login", window.location.pathname);
    box.append(h("p", {}, t("book.sign_in_first")), h("p", { class: "actions" }, link("/login", t("nav.login"), { class: "button" }), link("/register", t("nav.register"), { class: "button secondary" })));
  } else if (session.account.role !== "patient") {
    box.append(h("p", {}, t("book.patients_only")));
  } else {
    const key = crypto.randomUUID();
    const button = h("button", { type: "button", id: "confirm-booking" }, t("book.confirm"));
    button.addEventListener("click", () => book(box, button, profile, reason, slot, key));
    box.append(h("p", { class: "actions" }, button));
  }
  container.append(box);
  box.focus();
}

async function book(box, button, profile, reason, slot, key) {
  button.disabled = true;
  try {
    await post("/api/v1/appointments", { practitioner_id: profile.id, visit_reason_id: reason.id, start: slot.start }, { "Idempotency-Key": key });
    notify(t("book.done", { when: fmtDateTime(slot.start, profile.timezone) }), "success");
    await nav.go("/account");
    notify(t("book.done", { when: fmtDateTime(slot.start, profile.timezone) }), "success");
  } catch (error) {
    button.disabled = false;
    if (error instanceof Problem && error.code === "consent_required") {
      await askConsent(box, error.body.missing || [], () => book(box, button, profile, reason, slot, crypto.randomUUID()));
      return;
    }
    showError(error);
  }
}

/** The privacy notice of each missing purpose, and one acknowledgement that grants them all. */
export async function askConsent(container, missing, then) {
  const charter = await get(`/api/v1/charter?lang=${lang()}`);
  const purposes = charter.purposes.filter((p) => missing.includes(p.id));
  container.querySelector(".consent")?.remove();
  const agree = checkbox(t("consent.read"), { id: "consent-read" });
  const accept = h("button", { type: "button", id: "consent-accept", disabled: true }, t("consent.accept"));
  agree.input.addEventListener("change", () => { accept.disabled = !agree.input.checked; });
  const box = h(
    "section",
    { class: "consent", "aria-labelledby": "consent-title", tabindex: "-1" },
    h("h3", { id: "consent-title" }, t("consent.title")),
    h("p", {}, t("consent.intro")),
    purposes.map((p) => h("div", { class: "notice-text" }, h("h4", {}, p.title), p.text.split(/\n\n+/).map((para) => h("p", {}, para)))),
    agree.wrap,
    h("p", { class: "actions" }, accept),
  );
  accept.addEventListener("click", async () => {
    accept.disabled = true;
    try {
      for (const p of purposes) {
        await post("/api/v1/me/consents", { purpose_id: p.id, purpose_version: p.version, decision: "grant" });
      }
      box.remove();
      notify(t("consent.recorded"), "success");
      await then();
    } catch (error) {
      accept.disabled = false;
      showError(error);
    }
  });
  container.append(box);
  box.focus();
  notify(t("consent.needed"));
}
