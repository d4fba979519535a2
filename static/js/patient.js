// Patient (and every signed-in person's security page): appointments, privacy, passkeys, sessions.
import { get, post, patch, del, Problem } from "./api.js";
import { h, clear, field, checkbox } from "./dom.js";
import { t, lang } from "./i18n.js";
import { session, nav, notify, showError, problemText, exportLink, withReauth } from "./state.js";
import { fmtDate, fmtDateTime, fmtShort } from "./format.js";
import { heading, link, loading, empty, section, table, cards } from "./widgets.js";
import { slotPicker, confirmMove } from "./slotpicker.js";
import { mySection } from "./waitlist.js";
import { passkeySection } from "./passkeys.js";

export async function appointmentsView(main) {
  main.append(heading(t("appointments.title")), h("p", {}, link("/", t("appointments.book_new"))));
  const upcoming = section({ heading: "upcoming-title", title: t("appointments.upcoming") }, loading());
  const past = section({ heading: "past-title", title: t("appointments.past") }, loading());
  main.append(upcoming, past);
  const [next, before] = await Promise.all([
    get("/api/v1/me/appointments?scope=upcoming"),
    get("/api/v1/me/appointments?scope=past"),
  ]);
  // a cancelled visit is not ahead of anyone: it goes under its own heading, after the others
  const cancelled = next.filter((a) => a.status === "cancelled");
  fillAppointments(upcoming, next.filter((a) => a.status !== "cancelled"), true);
  if (cancelled.length) {
    const gone = section({ heading: "cancelled-title", title: t("appointments.cancelled_title") });
    fillAppointments(gone, cancelled, false);
    main.insertBefore(gone, past);
  }
  fillAppointments(past, before, false);
  main.insertBefore(await mySection(), past);
  main.append(await relativesSection());
}

/** The people I book for (issue 24): a name and a birth date each, at most 10. */
async function relativesSection() {
  const relatives = await get("/api/v1/me/relatives");
  const reload = () => nav.go("/account", { replace: true });
  const list = cards(relatives, (r) => h("li", { class: "card", "data-relative": r.id },
    h("h3", {}, r.full_name),
    h("p", {}, t("relatives.born", { date: fmtDate(r.birth_date) })),
    h("button", { type: "button", class: "danger", on: { click: async () => {
      if (!window.confirm(t("relatives.remove_confirm", { name: r.full_name }))) return;
      try {
        await del(`/api/v1/me/relatives/${r.id}`);
        await reload();
        notify(t("relatives.removed", { name: r.full_name }), "success");
      } catch (error) { showError(error); }
    } } }, t("relatives.remove", { name: r.full_name }))), t("relatives.none"));
  const name = field(t("relatives.name"), { required: true, maxlength: 200, id: "relative-name", autocomplete: "off" });
  const born = field(t("relatives.birth_date"), { type: "date", required: true, id: "relative-birth", max: new Date().toISOString().slice(0, 10) });
  const add = h("button", { type: "submit", id: "add-relative" }, t("relatives.add"));
  const form = h("form", { on: { submit: async (event) => {
    event.preventDefault();
    add.disabled = true;
    try {
      const added = await post("/api/v1/me/relatives", { full_name: name.input.value, birth_date: born.input.value });
      await reload();
      notify(t("relatives.added", { name: added.full_name }), "success");
    } catch (error) {
      showError(error);
    } finally {
      add.disabled = false;
    }
  } } }, h("h3", {}, t("relatives.add_title")), name.wrap, born.wrap, add);
  return section({ heading: "relatives-title", title: t("relatives.title"), id: "relatives" },
    h("p", { class: "muted" }, t("relatives.intro")), list, relatives.length < 10 ? form : h("p", {}, t("relatives.full")));
}

function fillAppointments(part, items, upcoming) {
  part.querySelector("p.muted")?.remove();
  const none = upcoming ? t("appointments.none_upcoming") : t("appointments.none_past");
  part.append(cards(items, (a) => appointmentCard(a, upcoming), none, { class: "cards appointments" }));
}

/** The browser's own zone: a time elsewhere is shown in the practitioner's zone and says so. */
const HERE = Intl.DateTimeFormat().resolvedOptions().timeZone;

function appointmentCard(a, upcoming) {
  const when = fmtDateTime(a.start, a.timezone) + (a.timezone && a.timezone !== HERE ? ` (${t("appointments.local_time", { zone: a.timezone })})` : "");
  const cancelled = a.status === "cancelled";
  const actions = h("div", { class: "actions" });
  const card = h(
    "li",
    { class: `card${cancelled ? " cancelled" : ""}`, "data-appointment": a.id },
    h("h3", {}, when),
    h("p", {}, link(`/practitioners/${a.practitioner_id}`, a.practitioner_name), ` — ${a.address}`),
    a.relative ? h("p", { class: "for-whom" }, t("appointments.for", { name: a.relative.full_name || t("relatives.removed_name") })) : null,
    a.visit_reason ? h("p", {}, a.visit_reason) : null,
    h("p", { class: "status" }, t(`appointments.status_${a.status}`, t("appointments.booked"))),
    actions,
  );
  if (!cancelled) {
    actions.append(h("a", { href: `/api/v1/appointments/${a.id}.ics`, download: "rendez-vous.ics", class: "button secondary" }, t("appointments.ics")));
  }
  if (upcoming && !cancelled) {
    // offer only what the practice's deadline still allows, and say why otherwise
    const until = a.changes_until ? new Date(a.changes_until) : null;
    if (until && until > new Date()) {
      actions.append(
        h("button", { type: "button", class: "secondary", on: { click: () => reschedule(card, a) } }, t("appointments.reschedule")),
        h("button", { type: "button", class: "danger", on: { click: () => cancel(card, a) } }, t("appointments.cancel")),
      );
      card.insertBefore(h("p", { class: "muted deadline" }, t("appointments.changes_until", { when: fmtDateTime(a.changes_until, a.timezone) })), actions);
    } else {
      card.insertBefore(h("p", { class: "deadline too-late" }, t("appointments.too_late", { name: a.practitioner_name })), actions);
    }
  }
  return card;
}

async function cancel(card, a) {
  if (!window.confirm(t("appointments.cancel_confirm", { when: fmtDateTime(a.start, a.timezone) }))) return;
  try {
    await post(`/api/v1/appointments/${a.id}/cancel`);
    await nav.go("/account", { replace: true });
    notify(t("appointments.cancel_done"), "success");
  } catch (error) {
    showError(error);
  }
}

async function reschedule(card, a) {
  card.querySelector(".reschedule")?.remove();
  const box = h("div", { class: "reschedule", tabindex: "-1" }, h("h4", {}, t("appointments.reschedule_title")));
  card.append(box);
  try {
    const profile = await get(`/api/v1/practitioners/${a.practitioner_id}`);
    if (!a.visit_reason_id || !profile.visit_reasons.some((r) => r.id === a.visit_reason_id)) {
      box.append(empty(t("appointments.reschedule_unavailable")));
      return;
    }
    slotPicker(box, profile, {
      fixedReason: a.visit_reason_id,
      onPick: (slot) => confirmMove(box, a, slot, profile.timezone, async () => {
        try {
          await post(`/api/v1/appointments/${a.id}/reschedule`, { start: slot.start });
          await nav.go("/account", { replace: true });
          notify(t("appointments.reschedule_done", { when: fmtDateTime(slot.start, profile.timezone) }), "success");
        } catch (error) {
          // the deadline passed while the patient was choosing: say it of a move, not a cancel
          if (error instanceof Problem && error.code === "cancel_deadline_passed") notify(t("appointments.too_late_to_move"), "error");
          else showError(error);
        }
      }),
    });
    box.focus();
  } catch (error) {
    clear(box, empty(problemText(error)));
  }
}

export async function privacyView(main) {
  main.append(heading(t("privacy.title")));
  const [charter, consents, history, accessLog, apps, sent] = await Promise.all([
    get(`/api/v1/charter?lang=${lang()}`),
    get("/api/v1/me/consents"),
    get("/api/v1/me/consents/history"),
    get("/api/v1/me/access-log"),
    get("/api/v1/me/apps"),
    get("/api/v1/me/notifications"),
  ]);
  main.append(consentSection(charter, consents, "patient"));
  main.append(historySection(charter, history));
  main.append(notificationsSection(sent));
  // who accessed my data
  main.append(section({ heading: "log-title", title: t("log.title") }, h("p", {}, t("log.intro")),
    table([t("log.at"), t("log.who"), t("log.action"), t("log.via")],
      accessLog.map((e) => [fmtShort(e.at), actorText(e), t(`action.${e.action}`, e.action), t(`via.${e.via}`, e.via)]), t("log.empty"))));
  // everything erdv keeps about me, to read or to take elsewhere (GDPR art. 15 and 20)
  main.append(section({ heading: "export-title", title: t("export.title"), id: "export" },
    h("p", {}, t("export.intro")),
    h("ul", {},
      h("li", {}, exportLink("/api/v1/me/export", "erdv-export.json", t("export.json"))),
      h("li", {}, exportLink("/api/v1/me/export?format=fhir", "erdv-export.fhir.json", t("export.fhir"))))));
  // connected apps
  main.append(section({ heading: "apps-title", title: t("apps.title"), id: "apps" },
    cards(apps, (app) => h("li", { class: "card" },
      h("h3", {}, app.name),
      h("p", {}, t("common.pair", { label: t("apps.scopes"), value: app.scopes.map((s) => t(`scope.${s}`, s)).join(", ") })),
      h("p", { class: "muted" }, `${t("apps.since")} ${fmtShort(app.authorized_at)} · ${app.last_token_at ? t("apps.last_used", { when: fmtShort(app.last_token_at) }) : t("apps.never_used")}`),
      h("button", { type: "button", class: "danger", on: { click: async () => {
        try {
          await del(`/api/v1/me/apps/${encodeURIComponent(app.client_id)}`);
          await nav.go("/account/privacy", { replace: true });
          notify(t("apps.revoked", { name: app.name }), "success");
        } catch (error) { showError(error); }
      } } }, t("apps.revoke"))), t("apps.empty"))));
}

/** Who, in the reader's language: a person or an application by name, erdv's own jobs by role. */
function actorText(e) {
  const role = t(`role.${e.actor_role}`, e.actor_role);
  return e.actor_role === "system" || e.actor_role === "anonymous" ? role : `${e.actor_name} (${role})`;
}

/** The purposes of one audience with their current decision and a grant/withdraw button. */
/** What erdv sent me: kind, channel, date and state (never the text: it is not kept). */
export function notificationsSection(sent) {
  return section({ heading: "sent-title", title: t("sent.title"), id: "notifications" }, h("p", {}, t("sent.intro")),
    table([t("sent.at"), t("sent.kind"), t("sent.channel"), t("sent.status")],
      sent.map((n) => [fmtShort(n.sent_at || n.created_at), t(`sent.kind_${n.kind}`, n.kind), t(`sent.channel_${n.channel}`, n.channel), t(`sent.status_${n.status}`, n.status)]),
      t("sent.empty")));
}

export function consentSection(charter, consents, audience, reload = "/account/privacy") {
  const byId = new Map(consents.map((c) => [c.purpose_id, c]));
  const purposes = charter.purposes.filter((p) => p.audience === audience);
  const list = h("ul", { class: "cards" });
  for (const p of purposes) {
    if (p.id === "third-party-sharing") {
      // decided application by application, on each one's consent screen, and withdrawn there
      list.append(h("li", { class: "card", "data-purpose": p.id },
        h("h3", {}, p.title),
        h("details", {}, h("summary", {}, t("consents.read_text")), p.text.split(/\n\n+/).map((para) => h("p", {}, para))),
        h("p", {}, t("consents.per_application"), " ", h("a", { href: "#apps" }, t("apps.title")), ".")));
      continue;
    }
    const state = byId.get(p.id);
    const granted = state && state.status === "granted" && state.purpose_version === p.version;
    const decide = async (decision) => {
      try {
        const receipt = await post("/api/v1/me/consents", { purpose_id: p.id, purpose_version: p.version, decision });
        await nav.go(reload, { replace: true });
        notify(t("consents.receipt", { sha: receipt.receipt_sha256.slice(0, 16) }), "success");
      } catch (error) { showError(error); }
    };
    list.append(h("li", { class: "card", "data-purpose": p.id },
      h("h3", {}, p.title),
      h("details", {}, h("summary", {}, t("consents.read_text")), p.text.split(/\n\n+/).map((para) => h("p", {}, para))),
      p.required_for ? h("p", { class: "muted" }, t(`consents.required_${p.required_for}`)) : null,
      // what this channel sends, in a sentence (the full text is above)
      t(`consents.sends_${p.id}`, "") ? h("p", { class: "muted sends" }, t(`consents.sends_${p.id}`)) : null,
      h("p", { class: "status" }, granted ? t("consents.granted", { when: fmtShort(state.decided_at) }) : t("consents.not_granted")),
      granted
        ? h("button", { type: "button", class: "secondary", on: { click: () => decide("withdraw") } }, t("consents.withdraw"))
        : h("button", { type: "button", on: { click: () => decide("grant") } }, t("consents.grant"))));
  }
  return section({ heading: "consents-title", title: t("consents.title") }, list);
}

export function historySection(charter, history) {
  const titles = new Map(charter.purposes.map((p) => [p.id, p.title]));
  return section({ heading: "history-title", title: t("consents.history") },
    table([t("consents.when"), t("consents.purpose"), t("consents.decision"), t("consents.receipt_col")],
      history.map((r) => [fmtShort(r.decided_at), `${titles.get(r.purpose_id) || r.purpose_id} (v${r.purpose_version})`, t(`consents.decision_${r.decision}`), h("code", { class: "hash" }, r.receipt_sha256)]),
      t("consents.history_empty")));
}

export async function securityView(main) {
  main.append(heading(t("security.title")));
  const [me, sessions] = await Promise.all([get("/api/v1/me"), get("/api/v1/me/sessions")]);
  main.append(profileSection(me));
  main.append(passwordSection());
  main.append(await passkeySection());
  main.append(section({ heading: "sessions-title", title: t("sessions.title") }, cards(sessions, (s) => h("li", { class: "card" },
    h("h3", {}, s.current ? t("sessions.current") : (s.user_agent || t("sessions.unknown_device")).slice(0, 80)),
    h("p", {}, `${t("sessions.started")} ${fmtShort(s.created_at)} · ${t("sessions.last_seen")} ${fmtShort(s.last_seen_at)}${s.ip ? ` · ${s.ip}` : ""}`),
    h("button", { type: "button", class: "danger", on: { click: async () => {
      try {
        await del(`/api/v1/me/sessions/${s.id}`);
        if (s.current) {
          session.account = null;
          await nav.go("/");
        } else {
          await nav.go("/account/security", { replace: true });
        }
        notify(t("sessions.ended"), "success");
      } catch (error) { showError(error); }
    } } }, s.current ? t("nav.logout") : t("sessions.end"))))));
  if (session.account && session.account.role === "patient") main.append(deleteSection());
}

/**
 * Delete my account (GDPR art. 17): a box to tick that says what goes and what stays, then the
 * password and a code again (the server asks for a recent re-authentication), then the home page.
 */
function deleteSection() {
  const form = deletionForm(
    { sureId: "delete-sure", sureLabel: t("delete.confirm"), submitId: "delete-account", submitLabel: t("delete.submit"), doneText: t("delete.done") },
    h("p", {}, t("delete.intro")), h("p", {}, t("delete.kept")));
  return section({ heading: "delete-title", title: t("delete.title"), id: "delete" }, form);
}

/**
 * The form that deletes the signed-in account (a patient's erasure, a practitioner's closing):
 * `intro`, a box to tick, then `DELETE /api/v1/me` after the password and a code again, then home.
 */
export function deletionForm({ sureId, sureLabel, submitId, submitLabel, doneText }, ...intro) {
  const sure = checkbox(sureLabel, { id: sureId });
  const submit = h("button", { type: "submit", class: "danger", id: submitId }, submitLabel);
  return h("form", { on: { submit: async (event) => {
    event.preventDefault();
    sure.input.removeAttribute("aria-invalid");
    if (!sure.input.checked) {
      sure.input.setAttribute("aria-invalid", "true");
      sure.input.focus();
      notify(t("delete.tick_first"), "error");
      return;
    }
    submit.disabled = true;
    try {
      await withReauth(() => del("/api/v1/me"));
      session.account = null;
      await nav.go("/");
      notify(doneText, "success");
    } catch (error) {
      showError(error);
    } finally {
      submit.disabled = false;
    }
  } } }, ...intro, sure.wrap, submit);
}

/** Rectify my name and phone (GDPR art. 16); the phone is stored in E.164, an empty one removed. */
function profileSection(me) {
  const name = field(t("profile.name"), { required: true, maxlength: 200, autocomplete: "name", value: me.full_name, id: "profile-name" });
  const phone = field(t("profile.phone"), { type: "tel", maxlength: 32, autocomplete: "tel", value: me.phone || "", id: "profile-phone" }, t("profile.phone_hint"));
  const submit = h("button", { type: "submit", id: "save-profile" }, t("profile.save"));
  const form = h("form", { on: { submit: async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      const saved = await patch("/api/v1/me", { full_name: name.input.value, phone: phone.input.value.trim() || null });
      name.input.value = saved.full_name;
      phone.input.value = saved.phone || "";
      if (session.account) session.account.full_name = saved.full_name;
      notify(t("profile.saved"), "success");
    } catch (error) {
      showError(error);
    } finally {
      submit.disabled = false;
    }
  } } }, h("p", { class: "muted" }, t("common.pair", { label: t("profile.email"), value: me.email })), name.wrap, phone.wrap, submit);
  const address = field(t("email.new"), { type: "email", required: true, maxlength: 254, autocomplete: "email", id: "new-email" });
  const send = h("button", { type: "submit", class: "secondary", id: "change-email" }, t("email.submit"));
  const move = h("form", { on: { submit: async (event) => {
    event.preventDefault();
    send.disabled = true;
    try {
      const asked = await withReauth(() => post("/api/v1/me/email", { email: address.input.value }));
      address.input.value = "";
      notify(t("email.sent", { email: asked.email }), "success");
    } catch (error) {
      showError(error);
    } finally {
      send.disabled = false;
    }
  } } }, h("h3", {}, t("email.title")), h("p", { class: "muted" }, t("email.intro")), address.wrap, send);
  return section({ heading: "profile-title", title: t("profile.title"), id: "profile" }, form, move);
}

/** Change the password: the current one is required (SECURITY.md); the other sessions end. */
function passwordSection() {
  const current = field(t("password.current"), { type: "password", autocomplete: "current-password", required: true, id: "current-password" });
  const next = field(t("password.new"), { type: "password", autocomplete: "new-password", required: true, minlength: 12, id: "new-password" }, t("register.password_hint"));
  const again = field(t("password.confirm"), { type: "password", autocomplete: "new-password", required: true, minlength: 12, id: "confirm-password" });
  const submit = h("button", { type: "submit", id: "change-password" }, t("password.submit"));
  const form = h("form", { on: { submit: async (event) => {
    event.preventDefault();
    again.input.removeAttribute("aria-invalid");
    current.input.removeAttribute("aria-invalid");
    if (next.input.value !== again.input.value) {
      again.input.setAttribute("aria-invalid", "true");
      again.input.focus();
      notify(t("password.mismatch"), "error");
      return;
    }
    submit.disabled = true;
    try {
      await post("/api/v1/auth/password/change", { current_password: current.input.value, new_password: next.input.value });
      await nav.go("/account/security", { replace: true });
      notify(t("password.changed"), "success");
    } catch (error) {
      if (error instanceof Problem && error.code === "invalid_credentials") {
        current.input.setAttribute("aria-invalid", "true");
        current.input.focus();
        notify(t("password.wrong_current"), "error");
      } else showError(error);
    } finally {
      if (submit.isConnected) submit.disabled = false;
    }
  } } }, h("p", {}, t("password.intro")), current.wrap, next.wrap, again.wrap, submit);
  return section({ heading: "password-title", title: t("password.title") }, form);
}
