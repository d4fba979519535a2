// Admin: practitioners awaiting approval, OAuth clients, exports, audit chain verification.
import { get, post } from "./api.js";
import { h, clear, field, checkbox } from "./dom.js";
import { t } from "./i18n.js";
import { session, nav, link, notify, showError, heading, fmtShort, withReauth, reauthDialog, ensureRecentReauth } from "./state.js";
import { table } from "./patient.js";

const SCOPES = ["practitioners:read", "slots:read", "appointments:read", "appointments:write", "agenda:read"];
const GRANTS = ["authorization_code", "refresh_token", "client_credentials"];

export async function adminView(main, section) {
  if (!session.account || session.account.role !== "admin") {
    main.append(heading(t("signin.required")), h("p", {}, link("/login", t("nav.login"), { class: "button" })));
    return;
  }
  if (section === "clients") return clientsView(main);
  if (section) {
    main.append(heading(t("notfound.title")));
    return;
  }
  return dashboardView(main);
}

async function dashboardView(main) {
  main.append(heading(t("admin.title")));
  const pending = await get("/api/v1/admin/practitioners?status=pending");
  const approvals = h("section", { "aria-labelledby": "pending-title" }, h("h2", { id: "pending-title" }, t("admin.pending")));
  if (pending.length === 0) approvals.append(h("p", { class: "empty" }, t("admin.pending_empty")));
  else {
    approvals.append(table([t("admin.name"), t("register.rpps"), t("search.city"), t("admin.registered"), t("common.actions")],
      pending.map((p) => [p.display_name,
        p.directory_url ? h("a", { href: p.directory_url, rel: "noopener noreferrer", target: "_blank" }, p.rpps || "—") : (p.rpps || "—"),
        p.city || "—", fmtShort(p.created_at),
        h("button", { type: "button", "aria-label": `${t("admin.approve")} ${p.display_name}`, on: { click: async () => {
          try {
            await post(`/api/v1/admin/practitioners/${p.id}/approve`);
            await nav.go("/admin", { replace: true });
            notify(t("admin.approved", { name: p.display_name }), "success");
          } catch (error) { showError(error); }
        } } }, t("admin.approve"))])));
  }
  main.append(approvals);

  // exports: plain links (downloads), after a recent re-authentication
  const exports = h("section", { "aria-labelledby": "exports-title" }, h("h2", { id: "exports-title" }, t("admin.exports")),
    h("p", {}, t("admin.exports_intro")),
    h("p", {}, h("button", { type: "button", class: "secondary", id: "reauth-now", on: { click: async () => {
      if (await reauthDialog()) notify(t("reauth.done"), "success");
    } } }, t("reauth.title"))),
    h("ul", {},
      h("li", {}, exportLink("/api/v1/admin/consent-log?format=csv", "consent-log.csv", t("admin.consent_csv"))),
      h("li", {}, exportLink("/api/v1/admin/consent-log?format=ndjson", "consent-log.ndjson", t("admin.consent_ndjson"))),
      h("li", {}, exportLink("/api/v1/admin/audit?format=ndjson", "audit.ndjson", t("admin.audit_ndjson")))));
  main.append(exports);

  const result = h("div", { id: "verify-result" });
  main.append(h("section", { "aria-labelledby": "verify-title" }, h("h2", { id: "verify-title" }, t("admin.verify")),
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

/**
 * An export is a plain download: the browser fetches it itself, so a 403 reauth_required would be
 * saved as the file instead of being answered. Exports stay behind a recent re-authentication
 * (SECURITY.md, ASVS V7.5.3), so the link asks for one first when the last is too old, then lets the
 * browser download.
 */
function exportLink(href, file, label) {
  return h("a", { href, download: file, on: { click: async (event) => {
    const anchor = event.currentTarget;
    if (anchor.dataset.ready === "1") {
      delete anchor.dataset.ready;
      return;
    }
    event.preventDefault();
    try {
      if (!(await ensureRecentReauth())) return;
      anchor.dataset.ready = "1";
      anchor.click();
    } catch (error) { showError(error); }
  } } }, label);
}

async function clientsView(main) {
  main.append(heading(t("clients.title")));
  const clients = await get("/api/v1/admin/oauth/clients");
  const listSection = h("section", { "aria-labelledby": "clients-list" }, h("h2", { id: "clients-list" }, t("clients.list")));
  if (clients.length === 0) listSection.append(h("p", { class: "empty" }, t("clients.empty")));
  else {
    listSection.append(h("ul", { class: "cards" }, clients.map((c) => h("li", { class: "card", "data-client": c.client_id },
      h("h3", {}, c.name),
      h("p", {}, h("code", {}, c.client_id)),
      h("p", {}, `${t("clients.scopes")} : ${c.scopes.join(", ")}`),
      h("p", {}, `${t("clients.grants")} : ${c.grant_types.join(", ")}`),
      c.redirect_uris.length ? h("p", {}, `${t("clients.redirects")} : ${c.redirect_uris.join(", ")}`) : null,
      h("p", { class: "status" }, c.enabled ? t("clients.enabled") : t("clients.disabled")),
      h("button", { type: "button", class: c.enabled ? "danger" : "", on: { click: async () => {
        try {
          await withReauth(() => post(`/api/v1/admin/oauth/clients/${encodeURIComponent(c.client_id)}/${c.enabled ? "disable" : "enable"}`));
          await nav.go("/admin/clients", { replace: true });
          notify(c.enabled ? t("clients.disabled") : t("clients.enabled"), "success");
        } catch (error) { showError(error); }
      } } }, c.enabled ? t("clients.disable") : t("clients.enable"))))));
  }
  const name = field(t("clients.name"), { required: true, maxlength: 120, id: "client-name" });
  const redirects = field(t("clients.redirects"), { tag: "textarea", rows: 3, id: "client-redirects" }, t("clients.redirects_hint"));
  const grants = GRANTS.map((g) => checkbox(g, { class: "grant", value: g, checked: g !== "client_credentials" }));
  const scopes = SCOPES.map((s) => checkbox(`${s} — ${t(`scope.${s}`)}`, { class: "scope", value: s }));
  const secretBox = h("div", { id: "client-secret-box" });
  const form = h("form", { on: { submit: async (event) => {
    event.preventDefault();
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
    } catch (error) { showError(error); }
  } } },
  name.wrap, redirects.wrap,
  h("fieldset", {}, h("legend", {}, t("clients.grants")), grants.map((g) => g.wrap)),
  h("fieldset", {}, h("legend", {}, t("clients.scopes")), scopes.map((s) => s.wrap)),
  h("button", { type: "submit", id: "create-client" }, t("clients.create")));
  main.append(listSection, h("section", { "aria-labelledby": "clients-new" }, h("h2", { id: "clients-new" }, t("clients.new")), form, secretBox));
}
