// Everyone: practitioner search (each result with its next free slot), the practitioner's page with
// a week of free slots (slotpicker.js), booking.
import { get, post, query, Problem } from "./api.js";
import { h, clear, field, checkbox } from "./dom.js";
import { t, lang } from "./i18n.js";
import { session, nav, notify, showError, problemText, keepPendingBooking } from "./state.js";
import { fmtDateTime, placeLine } from "./format.js";
import { heading, link, loading, empty, section, cards } from "./widgets.js";
import { slotPicker } from "./slotpicker.js";
import { joinSection } from "./waitlist.js";

let professionsCache = null;
/** The fixed list, named in the reader's language: the API's labels are the French directory's
 * (app/practice/professions.py), the lang files name each id. */
export async function professions() {
  if (!professionsCache) professionsCache = await get("/api/v1/professions");
  return professionsCache.map((p) => ({
    ...p,
    label: t(`profession.${p.id}`, p.label),
    specialties: p.specialties.map((s) => ({ ...s, label: t(`specialty.${s.id}`, s.label) })),
  }));
}

function professionLabel(list, profession, specialty) {
  const found = list.find((p) => p.id === profession);
  if (!found) return profession || "";
  const spec = found.specialties.find((s) => s.id === specialty);
  return spec ? `${found.label} — ${spec.label}` : found.label;
}

function sectorLabel(sector) {
  return sector ? t(`sector.${sector}`) : t("sector.unknown");
}

/** The page of a practitioner with one slot chosen (the confirmation opens at once). */
function slotAddress(practitionerId, slot) {
  return `/practitioners/${practitionerId}?${new URLSearchParams({ slot: slot.start, reason: slot.visit_reason_id })}`;
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
  const postcode = field(t("search.postcode"), { name: "postcode", inputmode: "numeric", maxlength: 5, autocomplete: "postal-code" });
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
  postcode.input.value = params.get("postcode") || "";
  name.input.value = params.get("q") || "";
  profession.input.addEventListener("change", fillSpecialties);
  const results = section({ heading: "results-title", title: t("search.results"), class: "results" });
  const form = h(
    "form",
    {
      role: "search",
      class: "search",
      on: {
        submit: (event) => {
          event.preventDefault();
          const q = query({ profession: profession.input.value, specialty: specialty.input.value, city: city.input.value.trim(), postcode: postcode.input.value.trim(), q: name.input.value.trim() });
          window.history.replaceState(null, "", `/${q}`);
          search(results, q);
        },
      },
    },
    h("div", { class: "grid" }, profession.wrap, specialty.wrap, city.wrap, postcode.wrap, name.wrap),
    h("button", { type: "submit" }, t("search.submit")),
  );
  main.append(form, results);
  await search(results, window.location.search);
}

async function search(results, q, cursor, append = false) {
  const params = new URLSearchParams(q);
  if (cursor) params.set("cursor", cursor);
  params.set("limit", "20");
  // the section keeps its heading; what follows it is this search's
  const title = results.firstChild;
  if (!append) clear(results, title, loading());
  let page;
  try {
    page = await get(`/api/v1/practitioners?${params}`);
  } catch (error) {
    clear(results, title, empty(problemText(error)));
    showError(error);
    return;
  }
  const list = await professions();
  let ul = results.querySelector("ul.cards");
  if (!append) {
    ul = cards(page.items, (p) => resultCard(p, list), t("search.empty"));
    clear(results, title, ul);
    if (page.items.length === 0) return;
  } else {
    for (const p of page.items) ul.append(resultCard(p, list));
  }
  results.querySelector("button.more")?.remove();
  if (page.next_cursor) {
    results.append(
      h("button", { type: "button", class: "more secondary", on: { click: () => search(results, q, page.next_cursor, true) } }, t("search.more")),
    );
  }
  notify(t("search.count", { n: ul.children.length }));
}

function resultCard(p, list) {
  const next = p.next_slot;
  const reason = next ? p.visit_reasons.find((r) => r.id === next.visit_reason_id) : null;
  return h(
    "li",
    { class: "card result", "data-practitioner": p.id },
    h("h3", {}, link(`/practitioners/${p.id}`, p.display_name)),
    h("p", {}, professionLabel(list, p.profession, p.specialty)),
    h("p", { class: "muted" }, p.address),
    h("p", {}, `${sectorLabel(p.convention_sector)} · ${p.fees}`),
    next
      ? h("p", { class: "next-slot" },
        h("span", { class: "muted" }, `${t("search.next_slot")} `),
        link(slotAddress(p.id, next), [
          `${fmtDateTime(next.start, p.timezone)}${reason ? ` — ${reason.label}` : ""}`,
          h("span", { class: "visually-hidden" }, ` ${t("search.with", { name: p.display_name })}`),
        ], { class: "button slot-link" }),
        " ", link(`/practitioners/${p.id}`, t("search.other_slots")))
      : h("p", { class: "muted" }, t("search.no_slot")),
  );
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
      ...(profile.sites.length > 1
        ? [h("dt", {}, t("practitioner.sites")), h("dd", { id: "sites" }, h("ul", {}, profile.sites.map((s) => h("li", {}, siteText(s)))))]
        : [h("dt", {}, t("practitioner.address")), h("dd", {}, profile.address)]),
      ...(profile.practice_mode ? [h("dt", {}, t("practitioner.mode")), h("dd", {}, t(`mode.${profile.practice_mode}`))] : []),
      ...(profile.titles.length ? [h("dt", {}, t("practitioner.titles")), h("dd", { id: "titles" }, profile.titles.join(" · "))] : []),
      h("dt", {}, t("practitioner.sector")), h("dd", {}, sectorLabel(profile.convention_sector)),
      h("dt", {}, t("practitioner.fees")), h("dd", {}, profile.fees || "—"),
      h("dt", {}, t("practitioner.directory")),
      h("dd", {}, profile.directory_url
        ? h("a", { href: profile.directory_url, rel: "noopener noreferrer", target: "_blank" }, t("practitioner.directory_link"))
        : "—"),
    ),
  );
  if (profile.visit_reasons.length === 0) {
    main.append(empty(t("practitioner.no_reasons")));
    return;
  }
  const booking = section({ heading: "book-title", title: t("book.title"), class: "booking" });
  main.append(booking);
  // a slot chosen on the results page, or before signing in: straight to its confirmation
  const params = new URLSearchParams(window.location.search);
  const chosen = params.get("slot") && params.get("reason") ? { start: params.get("slot"), reason: params.get("reason") } : null;
  slotPicker(booking, profile, {
    initial: chosen,
    onPick: (slot, reason) => confirmBooking(booking, profile, reason, slot),
  });
  main.append(joinSection(profile));
}

/** A site as a line: "Annexe — 3 rue Hoche, 78000 Versailles". */
function siteText(site) {
  return `${site.label} — ${placeLine(site.address, site.postcode, site.city)}`;
}

function confirmBooking(container, profile, reason, slot) {
  container.querySelector(".confirm")?.remove();
  const site = profile.sites.find((s) => s.id === slot.site_id);
  const when = fmtDateTime(slot.start, site ? site.timezone : profile.timezone);
  const box = h("div", { class: "confirm", role: "region", "aria-labelledby": "confirm-title", tabindex: "-1" });
  box.append(h("h3", { id: "confirm-title" }, t("book.confirm_title")), h("p", {}, t("book.summary", { reason: reason.label, when, name: profile.display_name })));
  // where: asked of a practice with several sites (the slot names its own)
  if (site && profile.sites.length > 1) box.append(h("p", { class: "site" }, t("book.at_site", { site: siteText(site) })));
  if (!session.account) {
    // kept through the sign-in, or the sign-up and its e-mail check (maybe in another tab)
    keepPendingBooking(profile.id, reason.id, slot.start);
    box.append(h("p", {}, t("book.sign_in_first")), h("p", { class: "actions" }, link("/login", t("nav.login"), { class: "button" }), link("/register", t("nav.register"), { class: "button secondary" })));
  } else if (session.account.role !== "patient") {
    box.append(h("p", {}, t("book.patients_only")));
  } else {
    // a new key for each request the patient means: choosing someone else is another booking
    let key = crypto.randomUUID();
    const whom = field(t("book.for_whom"), { tag: "select", id: "book-for", options: [["", t("book.for_me")]] });
    whom.wrap.hidden = true;
    whom.input.addEventListener("change", () => { key = crypto.randomUUID(); });
    get("/api/v1/me/relatives").then((relatives) => {
      for (const r of relatives) whom.input.append(h("option", { value: r.id }, r.full_name));
      whom.wrap.hidden = relatives.length === 0;
    }).catch(() => {});
    const button = h("button", { type: "button", id: "confirm-booking" }, t("book.confirm"));
    button.addEventListener("click", () => book(box, button, profile, reason, slot, key, whom.input.value || null));
    box.append(whom.wrap, h("p", { class: "actions" }, button));
  }
  // next to the slot lists on a wide screen, first thing under the reason on a phone
  container.insertBefore(box, container.querySelector(".week-nav"));
  box.focus();
  box.scrollIntoView({ block: "nearest" });
}

async function book(box, button, profile, reason, slot, key, relativeId = null) {
  button.disabled = true;
  try {
    const body = { practitioner_id: profile.id, visit_reason_id: reason.id, start: slot.start };
    if (relativeId) body.relative_id = relativeId;
    await post("/api/v1/appointments", body, { "Idempotency-Key": key });
    await nav.go("/account");
    notify(t("book.done", { when: fmtDateTime(slot.start, profile.timezone) }), "success");
  } catch (error) {
    button.disabled = false;
    if (error instanceof Problem && error.code === "consent_required") {
      await askConsent(box, error.body.missing || [], () => book(box, button, profile, reason, slot, crypto.randomUUID(), relativeId));
      return;
    }
    showError(error);
  }
}

/** The privacy notice of each missing purpose, and one acknowledgement that grants them all. */
async function askConsent(container, missing, then) {
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
