// The practice team: a practitioner's team page, the invitation link's page, and a secretary's desk
// (the practices they work for, each one's agenda grid from pro.js).
import { get, post, del } from "./api.js";
import { h, field } from "./dom.js";
import { t } from "./i18n.js";
import { session, nav, notify, showError } from "./state.js";
import { fmtShort } from "./format.js";
import { heading, link, section, table, form, empty, cards } from "./widgets.js";
import { practiceAgenda } from "./pro.js";

const PENDING = "erdv.invitation";

/** The practitioner's team: who works in the agenda, invitations waiting, and a new invitation. */
export async function teamView(main) {
  main.append(heading(t("team.title")), h("p", {}, t("team.intro")));
  const members = await get("/api/v1/me/practice/team");
  main.append(section({ heading: "members-title", title: t("team.members") },
    table([t("field.email"), t("team.name"), t("team.status"), t("team.since"), t("common.actions")],
      members.map((m) => [m.email, m.full_name || "—", t(`team.status_${m.status}`),
        fmtShort(m.accepted_at || m.invited_at),
        h("button", { type: "button", class: "danger", "aria-label": `${t("team.remove")} ${m.email}`, on: { click: async () => {
          if (!window.confirm(t("team.remove_confirm", { email: m.email }))) return;
          try {
            await del(`/api/v1/me/practice/team/${m.id}`);
            await nav.go("/pro/team", { replace: true });
            notify(t("team.removed", { email: m.email }), "success");
          } catch (error) { showError(error); }
        } } }, t("team.remove"))]),
      t("team.empty"))));
  const email = field(t("field.email"), { type: "email", required: true, id: "invite-email", autocomplete: "off" });
  main.append(section({ heading: "invite-title", title: t("team.invite") },
    form(async () => {
      await post("/api/v1/me/practice/team", { email: email.input.value.trim(), role: "secretary" });
      await nav.go("/pro/team", { replace: true });
      notify(t("team.invited", { email: email.input.value.trim() }), "success");
    }, h("p", {}, t("team.invite_intro")), email.wrap, h("button", { type: "submit" }, t("team.invite_submit")))));
}

/** The invitation link: register as a secretary with it, or sign in to an existing secretary
 * account and accept it (the desk accepts a pending one after sign-in). */
export async function invitationView(main, token) {
  main.append(heading(t("invite.title")));
  const account = session.account;
  if (account && account.role === "secretary") {
    main.append(h("p", {}, t("invite.signed_in")),
      h("button", { type: "button", id: "accept-invitation", on: { click: () => accept(token) } }, t("invite.accept")));
    return;
  }
  if (account) {
    main.append(h("p", {}, t("invite.wrong_role")));
    return;
  }
  main.append(h("p", {}, t("invite.intro")));
  const name = field(t("register.full_name"), { required: true, autocomplete: "name", id: "invite-name" });
  const email = field(t("field.email"), { type: "email", required: true, autocomplete: "email", id: "invite-address" }, t("invite.email_hint"));
  const password = field(t("field.password"), { type: "password", required: true, autocomplete: "new-password", minlength: 12, id: "invite-password" }, t("register.password_hint"));
  main.append(section({ heading: "invite-new", title: t("invite.new_account") },
    form(async () => {
      await post("/api/v1/auth/register", {
        email: email.input.value.trim(), password: password.input.value, full_name: name.input.value.trim(),
        role: "secretary", invitation: token,
      });
      await nav.go("/login");
      notify(t("invite.registered"), "success");
    }, name.wrap, email.wrap, password.wrap, h("button", { type: "submit" }, t("invite.create")))));
  main.append(section({ heading: "invite-existing", title: t("invite.existing") },
    h("p", {}, t("invite.existing_intro")),
    h("button", { type: "button", class: "secondary", id: "invite-sign-in", on: { click: () => {
      sessionStorage.setItem(PENDING, token);
      nav.go("/login");
    } } }, t("nav.login"))));
}

async function accept(token) {
  try {
    await post(`/api/v1/team/invitations/${encodeURIComponent(token)}/accept`);
    notify(t("invite.accepted"), "success");
  } catch (error) {
    if (error.code !== "already_accepted") showError(error);
  }
  await nav.go("/desk");
}

/** A secretary's home: an invitation left pending at sign-in is accepted, then their practices. */
export async function deskView(main) {
  const pending = sessionStorage.getItem(PENDING);
  if (pending) {
    sessionStorage.removeItem(PENDING);
    try {
      await post(`/api/v1/team/invitations/${encodeURIComponent(pending)}/accept`);
      notify(t("invite.accepted"), "success");
    } catch (error) {
      if (error.code !== "already_accepted") showError(error);
    }
  }
  main.append(heading(t("desk.title")));
  const practices = await get("/api/v1/me/practices");
  if (!practices.length) {
    main.append(empty(t("desk.no_practice")));
    return;
  }
  main.append(h("p", {}, t("desk.intro")),
    cards(practices, (p) => h("li", { class: "card" }, h("h2", {}, link(`/desk/${p.id}`, p.display_name)))));
}

/** One practice's agenda, as its secretary works in it. */
export async function practiceDeskView(main, practiceId) {
  const practices = await get("/api/v1/me/practices");
  const practice = practices.find((p) => p.id === practiceId);
  if (!practice) {
    main.append(heading(t("practitioner.notfound")), h("p", {}, link("/desk", t("desk.title"))));
    return;
  }
  await practiceAgenda(main, practiceId, `/desk/${practiceId}`, t("desk.agenda_of", { name: practice.display_name }));
}
