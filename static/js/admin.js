// Admin: practitioners awaiting approval, OAuth clients, exports, audit chain verification.
import { get, post } from "./api.js";
import { h, clear, field, checkbox } from "./dom.js";
import { t, lang } from "./i18n.js";
import { nav, notify, showError, withReauth, reauthDialog, exportLink } from "./state.js";
import { fmtShort } from "./format.js";
import { heading, link, section, table, cards } from "./widgets.js";

const SCOPES = ["practitioners:read", "slots:read", "appointments:read", "appointments:write", "agenda:read"];
const GRANTS = ["authorization_code", "refresh_token", "client_credentials"];

export async function dashboardView(main) {
  main.append(heading(t("admin.title")));
  const [pending, approved, suspended, compliance, charter, dead] = await Promise.all([
    get("/api/v1/admin/practitioners?status=pending"),
    get("/api/v1/admin/practitioners?status=approved"),
    get("/api/v1/admin/practitioners?status=suspended"),
    get(`/api/v1/charter/compliance?lang=${lang()}`),
    get(`/api/v1/charter?lang=${lang()}`),
    get("/api/v1/admin/outbox?status=dead"),
  ]);
  const decide = (p, action, done) => async () => {
    if (action === "suspend" && !window.confirm(t("admin.suspend_confirm", { name: p.display_name }))) return;
    try {
      await post(`/api/v1/admin/practitioners/${p.id}/${action}`);
      await nav.go("/admin", { replace: true });
      notify(t(done, { name: p.display_name }), "success");
    } catch (error) { showError(error); }
  };
  const directory = (p) => (p.directory_url ? h("a", { href: p.directory_url, rel: "noopener noreferrer", target: "_blank" }, p.rpps || "—") : (p.rpps || "—"));
  main.append(section({ heading: "pending-title", title: t("admin.pending") },
    table([t("admin.name"), t("register.rpps"), t("search.city"), t("admin.registered"), t("common.actions")],
      pending.filter((p) => !p.closed_at).map((p) => [p.display_name, directory(p), p.city || "—", fmtShort(p.created_at),
        h("button", { type: "button", "aria-label": `${t("admin.approve")} ${p.display_name}`, on: { click: decide(p, "approve", "admin.approved") } }, t("admin.approve"))]),
      t("admin.pending_empty"))));

  // practitioners at work: suspend one at once (out of search, not bookable); reinstate later
  main.append(section({ heading: "approved-title", title: t("admin.approved_list") },
    table([t("admin.name"), t("register.rpps"), t("search.city"), t("practice.status"), t("common.actions")],
      [...approved, ...suspended].filter((p) => !p.closed_at).map((p) => [p.display_name, directory(p), p.city || "—", t(`admin.status_${p.status}`),
        p.status === "approved"
          ? h("button", { type: "button", class: "danger", "aria-label": `${t("admin.suspend")} ${p.display_name}`, on: { click: decide(p, "suspend", "admin.suspended") } }, t("admin.suspend"))
          : h("button", { type: "button", class: "secondary", "aria-label": `${t("admin.reinstate")} ${p.display_name}`, on: { click: decide(p, "approve", "admin.reinstated") } }, t("admin.reinstate"))]),
      t("admin.approved_empty"))));

  // C12: practices their practitioner closed; while the platform keeps their agenda, an admin can
  // hand its export to the former practitioner who asks (checked by other means: the account is gone)
  const closed = [...pending, ...approved, ...suspended].filter((p) => p.closed_at && !p.purged_at);
  main.append(section({ heading: "closed-title", title: t("admin.closed") },
    h("p", {}, t("admin.closed_intro")),
    table([t("admin.name"), t("admin.closed_at"), t("common.actions")],
      closed.map((p) => [p.display_name, fmtShort(p.closed_at),
        exportLink(`/api/v1/admin/practices/${p.id}/export`, `erdv-agenda-${p.id}.fhir.json`, t("admin.closed_export"))]),
      t("admin.closed_empty"))));

  main.append(complianceSection(compliance, charter));
  main.append(deadMessages(dead));

  // exports: plain links (downloads), after a recent re-authentication, over the dates chosen
  const since = field(t("admin.since"), { type: "date", id: "export-since" });
  const until = field(t("admin.until"), { type: "date", id: "export-until" });
  const links = [
    exportLink("/api/v1/admin/consent-log?format=csv", "consent-log.csv", t("admin.consent_csv")),
    exportLink("/api/v1/admin/consent-log?format=ndjson", "consent-log.ndjson", t("admin.consent_ndjson")),
    exportLink("/api/v1/admin/audit?format=ndjson", "audit.ndjson", t("admin.audit_ndjson")),
  ];
  const refresh = () => {
    for (const anchor of links) {
      const url = new URL(anchor.dataset.base, window.location.origin);
      // whole days in this browser's zone: from the start of "since" to the end of "until"
      if (since.input.value) url.searchParams.set("since", new Date(`${since.input.value}T00:00:00`).toISOString());
      if (until.input.value) url.searchParams.set("until", new Date(new Date(`${until.input.value}T00:00:00`).getTime() + 86400000).toISOString());
      anchor.href = `${url.pathname}${url.search}`;
    }
  };
  since.input.addEventListener("change", refresh);
  until.input.addEventListener("change", refresh);
  const exports = section({ heading: "exports-title", title: t("admin.exports") },
    h("p", {}, t("admin.exports_intro")),
    h("fieldset", {}, h("legend", {}, t("admin.period")), h("p", { class: "hint" }, t("admin.dates_hint")),
      h("div", { class: "grid" }, since.wrap, until.wrap)),
    h("p", {}, h("button", { type: "button", class: "secondary", id: "reauth-now", on: { click: async () => {
      if (await reauthDialog()) notify(t("reauth.done"), "success");
    } } }, t("reauth.title"))),
    h("ul", {}, links.map((a) => h("li", {}, a))));
  main.append(exports);

  const result = h("div", { id: "verify-result" });
  main.append(section({ heading: "verify-title", title: t("admin.verify") },
    h("p", {}, t("admin.verify_intro")),
    h("button", { type: "button", id: "verify-chain", on: { click: async () => {
      try {
        const report = await get("/api/v1/admin/audit/verify");
        const text = report.ok ? t("admin.verify_ok", { n: report.entries }) : t("admin.verify_bad", { id: report.first_bad || "?" });
        clear(result, h("p", { class: report.ok ? "ok" : "error-text" }, text), h("p", {}, t("admin.head"), " ", h("code", { class: "hash" }, report.head)));
        notify(text, report.ok ? "success" : "error");
      } catch (error) { showError(error); }
    } } }, t("admin.verify_button")), result));
}

/** Messages the outbox gave up on (their last error: a type and a code, never an address), each
 * sent again on request. */
function deadMessages(dead) {
  const retry = (m) => async () => {
    try {
      await post(`/api/v1/admin/outbox/${m.id}/retry`);
      await nav.go("/admin", { replace: true });
      notify(t("outbox.retried"), "success");
    } catch (error) { showError(error); }
  };
  return section({ heading: "outbox-title", title: t("outbox.title"), id: "outbox" }, h("p", {}, t("outbox.intro")),
    table([t("outbox.created"), t("outbox.kind"), t("outbox.channel"), t("outbox.attempts"), t("outbox.error"), t("common.actions")],
      dead.map((m) => [fmtShort(m.created_at), t(`sent.kind_${m.topic}`, m.topic || m.kind), t(`sent.channel_${m.channel}`, m.channel), String(m.attempts), m.last_error || "—",
        h("button", { type: "button", class: "secondary", "aria-label": `${t("outbox.retry")} ${m.id}`, on: { click: retry(m) } }, t("outbox.retry"))]),
      t("outbox.empty")));
}

/** The charter's clauses as the live checks found them (C14: the badge only when all are met). */
function complianceSection(compliance, charter) {
  const titles = new Map(charter.clauses.map((c) => [c.id, c.title]));
  return section({ heading: "compliance-title", title: t("admin.compliance"), id: "compliance" },
    h("p", { class: compliance.badge ? "ok" : "error-text" }, compliance.badge ? t("admin.badge_on") : t("admin.badge_off")),
    h("p", { class: "muted" }, t("admin.checked_at", { when: fmtShort(compliance.checked_at) })),
    table([t("admin.clause"), t("admin.clause_status"), t("admin.evidence")],
      compliance.clauses.map((c) => [`${c.id} — ${titles.get(c.id) || ""}`,
        h("span", { class: c.status === "met" ? "ok" : c.status === "not_met" ? "error-text" : "" }, t(`compliance.${c.status}`)),
        h("span", { class: "evidence" }, c.evidence)])),
    // the retention the privacy notice promises, job by job, with its last run
    h("h3", {}, t("admin.retention")),
    table([t("admin.retention_job"), t("admin.retention_last"), t("admin.retention_result")],
      (compliance.retention || []).map((job) => [t(`retention.${job.name}`, job.name),
        job.finished_at ? fmtShort(job.finished_at) : t("admin.retention_never"), job.result || "—"])));
}

export async function clientsView(main) {
  main.append(heading(t("clients.title")));
  const clients = await get("/api/v1/admin/oauth/clients");
  // the list is drawn again in place once a client is made, the new secret staying on screen
  const clientCards = (list) => cards(list, (c) => h("li", { class: "card", "data-client": c.client_id },
      h("h3", {}, c.name),
      h("p", {}, h("code", {}, c.client_id)),
      h("p", {}, t("common.pair", { label: t("clients.scopes"), value: c.scopes.join(", ") })),
      h("p", {}, t("common.pair", { label: t("clients.grants"), value: c.grant_types.join(", ") })),
      c.redirect_uris.length ? h("p", {}, t("common.pair", { label: t("clients.redirects"), value: c.redirect_uris.join(", ") })) : null,
      h("p", { class: "status" }, c.enabled ? t("clients.enabled") : t("clients.disabled")),
      h("button", { type: "button", class: c.enabled ? "danger" : "", on: { click: async () => {
        try {
          await withReauth(() => post(`/api/v1/admin/oauth/clients/${encodeURIComponent(c.client_id)}/${c.enabled ? "disable" : "enable"}`));
          await nav.go("/admin/clients", { replace: true });
          notify(c.enabled ? t("clients.disabled") : t("clients.enabled"), "success");
        } catch (error) { showError(error); }
      } } }, c.enabled ? t("clients.disable") : t("clients.enable"))), t("clients.empty"));
  const listSection = section({ heading: "clients-list", title: t("clients.list") }, clientCards(clients));
  const name = field(t("clients.name"), { required: true, maxlength: 120, id: "client-name" });
  const redirects = field(t("clients.redirects"), { tag: "textarea", rows: 3, id: "client-redirects" }, t("clients.redirects_hint"));
  // ticked by default through defaultChecked (the checked attribute), not the checked property:
  // form.reset() after a creation goes back to the defaults, which must still name a grant type
  const grants = GRANTS.map((g) => checkbox(g, { class: "grant", value: g, defaultChecked: g !== "client_credentials" }));
  const scopes = SCOPES.map((s) => checkbox(`${s} — ${t(`scope.${s}`)}`, { class: "scope", value: s }));
  const secretBox = h("div", { id: "client-secret-box" });
  const submit = h("button", { type: "submit", id: "create-client" }, t("clients.create"));
  const form = h("form", { on: { submit: async (event) => {
    event.preventDefault();
    // one client per click: a second click while the first is answered would make two
    if (submit.disabled) return;
    submit.disabled = true;
    const body = {
      name: name.input.value.trim(),
      redirect_uris: redirects.input.value.split(/\s+/).filter(Boolean),
      grant_types: grants.filter((g) => g.input.checked).map((g) => g.input.value),
      scopes: scopes.filter((s) => s.input.checked).map((s) => s.input.value),
    };
    try {
      const created = await withReauth(() => post("/api/v1/admin/oauth/clients", body));
      clear(secretBox, h("div", { class: "confirm", tabindex: "-1" },
        h("h3", {}, t("clients.created")),
        h("p", {}, t("clients.secret_once")),
        h("dl", { class: "facts" },
          h("dt", {}, "client_id"), h("dd", {}, h("code", { id: "new-client-id" }, created.client_id)),
          h("dt", {}, "client_secret"), h("dd", {}, h("code", { id: "new-client-secret", class: "secret" }, created.client_secret))),
        h("p", {}, link("/admin/clients", t("clients.done")))));
      form.reset();
      secretBox.firstChild.focus();
      notify(t("clients.created"), "success");
      listSection.lastChild.replaceWith(clientCards(await get("/api/v1/admin/oauth/clients")));
    } catch (error) {
      showError(error);
    } finally {
      submit.disabled = false;
    }
  } } },
  name.wrap, redirects.wrap,
  h("fieldset", {}, h("legend", {}, t("clients.grants")), grants.map((g) => g.wrap)),
  h("fieldset", {}, h("legend", {}, t("clients.scopes")), scopes.map((s) => s.wrap)),
  submit);
  main.append(listSection, section({ heading: "clients-new", title: t("clients.new") }, form, secretBox));
}
