// Practitioner: the sites a practice receives at, and the hours of particular days (issue 26).
// Opening blocks name their site in the weekly hours (pro.js); here the sites themselves, and the
// dates whose hours replace the week's (an empty day is closed).
import { get, post, put, del } from "./api.js";
import { h, field, checkbox } from "./dom.js";
import { t } from "./i18n.js";
import { nav, notify, showError } from "./state.js";
import { fmtDayKey, dayKey, addDaysKey, placeLine } from "./format.js";
import { heading, empty, section, cards, form } from "./widgets.js";

const reload = () => nav.go("/pro/places", { replace: true });

function siteFields(site = {}) {
  const label = field(t("sites.label"), { required: true, maxlength: 80, value: site.label || "", class: "site-label" });
  const address = field(t("sites.address"), { maxlength: 300, value: site.address || "", autocomplete: "street-address" });
  const postcode = field(t("sites.postcode"), { required: true, pattern: "[0-9]{5}", inputmode: "numeric", maxlength: 5, value: site.postcode || "", autocomplete: "postal-code" });
  const city = field(t("sites.city"), { required: true, maxlength: 100, value: site.city || "", autocomplete: "address-level2" });
  const zone = field(t("sites.timezone"), { required: true, maxlength: 64, value: site.timezone || "Europe/Paris" }, t("sites.timezone_hint"));
  const body = () => ({
    label: label.input.value, address: address.input.value, postcode: postcode.input.value, city: city.input.value, timezone: zone.input.value,
  });
  return { body, fields: h("div", { class: "grid" }, label.wrap, address.wrap, postcode.wrap, city.wrap, zone.wrap) };
}

function siteCard(site, main) {
  const edit = siteFields(site);
  return h("li", { class: "card", "data-site": site.id },
    h("h3", {}, site.label, main ? h("span", { class: "muted" }, ` — ${t("sites.main")}`) : null),
    h("p", {}, placeLine(site.address, site.postcode, site.city)),
    h("details", {}, h("summary", {}, t("sites.edit", { label: site.label })),
      form(async () => {
        await put(`/api/v1/me/sites/${site.id}`, edit.body());
        await reload();
        notify(t("common.saved"), "success");
      }, edit.fields, h("button", { type: "submit" }, t("common.save")))),
    main ? null : h("button", { type: "button", class: "danger", on: { click: async () => {
      try {
        await del(`/api/v1/me/sites/${site.id}`);
        await reload();
        notify(t("sites.removed", { label: site.label }), "success");
      } catch (error) { showError(error); }
    } } }, t("sites.remove", { label: site.label })));
}

function overrideCard(override, sites, reasons) {
  const siteName = (id) => sites.find((s) => s.id === id)?.label || "";
  const reasonName = (id) => reasons.find((r) => r.id === id)?.label || "";
  return h("li", { class: "card", "data-override": override.date },
    h("h3", {}, fmtDayKey(override.date)),
    override.blocks.length
      ? h("ul", {}, override.blocks.map((b) => h("li", {},
        `${b.start}–${b.end}`, sites.length > 1 ? ` · ${siteName(b.site_id)}` : "", ` · ${b.visit_reason_ids.map(reasonName).join(", ")}`)))
      : h("p", {}, t("overrides.closed")),
    h("button", { type: "button", class: "secondary", on: { click: async () => {
      try {
        await del(`/api/v1/me/overrides/${override.date}`);
        await reload();
        notify(t("overrides.removed", { date: fmtDayKey(override.date) }), "success");
      } catch (error) { showError(error); }
    } } }, t("overrides.remove", { date: fmtDayKey(override.date) })));
}

export async function placesView(main) {
  main.append(heading(t("places.title")), h("p", {}, t("places.intro")));
  const [sites, overrides, reasons, practice] = await Promise.all([
    get("/api/v1/me/sites"), get("/api/v1/me/overrides"), get("/api/v1/me/visit-reasons"), get("/api/v1/me/practice"),
  ]);
  const added = siteFields();
  main.append(section({ heading: "sites-title", title: t("sites.title"), id: "sites" },
    cards(sites, (s) => siteCard(s, s.id === sites[0].id), t("sites.none")),
    h("details", { open: sites.length === 0 }, h("summary", {}, t("sites.add_title")),
      form(async () => {
        const site = await post("/api/v1/me/sites", added.body());
        await reload();
        notify(t("sites.added", { label: site.label }), "success");
      }, added.fields, h("button", { type: "submit", id: "add-site" }, t("sites.add"))))));

  const tz = practice.timezone;
  const today = dayKey(new Date().toISOString(), tz);
  const date = field(t("overrides.date"), { type: "date", required: true, min: today, max: addDaysKey(today, 366), id: "override-date" });
  const closed = checkbox(t("overrides.close_day"), { id: "override-closed" });
  const start = field(t("hours.start"), { type: "time", value: "09:00", id: "override-start" });
  const end = field(t("hours.end"), { type: "time", value: "12:00", id: "override-end" });
  const where = field(t("sites.where"), { tag: "select", id: "override-site", options: sites.map((s) => [s.id, s.label]) });
  where.wrap.hidden = sites.length < 2;
  const boxes = reasons.map((r) => checkbox(r.label, { class: "reason", value: r.id, checked: true }));
  const hours = h("div", { class: "override-hours" }, h("div", { class: "grid" }, start.wrap, end.wrap, where.wrap),
    h("fieldset", { class: "reasons" }, h("legend", {}, t("hours.reasons")), boxes.map((b) => b.wrap)));
  closed.input.addEventListener("change", () => { hours.hidden = closed.input.checked; });
  main.append(section({ heading: "overrides-title", title: t("overrides.title"), id: "overrides" },
    h("p", { class: "muted" }, t("overrides.intro")),
    cards(overrides, (o) => overrideCard(o, sites, reasons), t("overrides.none")),
    reasons.length === 0 ? empty(t("hours.need_reasons")) : form(async () => {
      const blocks = closed.input.checked ? [] : [{
        start: start.input.value.slice(0, 5),
        end: end.input.value.slice(0, 5),
        site_id: where.input.value || null,
        visit_reason_ids: boxes.filter((b) => b.input.checked).map((b) => b.input.value),
      }];
      await post("/api/v1/me/overrides", { date: date.input.value, blocks });
      await reload();
      notify(t("overrides.saved", { date: fmtDayKey(date.input.value) }), "success");
    }, h("h3", {}, t("overrides.add_title")), date.wrap, closed.wrap, hours, h("button", { type: "submit", id: "save-override" }, t("overrides.save")))));
}
