// Administration at /admin (admins only): the organisation's name and rules
// (two-factor required, sign-up open), the defaults of new meetings, the
// users (suspend, reinstate, reset two-factor, delete, each with a reason
// the person is shown), creating a user, the meetings in progress (ending
// one with a reason), usage figures as charts, and the audit log with its
// verdict.

import type { User } from "../api/accounts.js";
import { actOnUser, createUser, endLiveMeeting, getOrg, getUsage, listLiveMeetings, listUsers, lockMeeting, saveOrg, type LiveMeeting, type Org, type UserAction } from "../api/admin.js";
import { getAuditLog, type AuditPage } from "../api/audit.js";
import { asApiError } from "../api/http.js";
import { showScreen } from "../app.js";
import { openPage } from "./signedin.js";
import { tokensSection } from "./tokens.js";
import { webhooksSection } from "./webhooks.js";
import { ssoSection } from "./sso.js";
import { el, replace } from "../ui/dom.js";
import { openDialog } from "../ui/dialog.js";
import { accountFields, checkbox, errorLine, field, onSubmit, selectField, setError, statusLine, submitButton } from "../ui/forms.js";
import { auditSection } from "../ui/audit-log.js";
import { accountPage } from "../ui/header.js";
import { liveMeetingsSection } from "../ui/live-meetings.js";
import { usageSection } from "../ui/usage-chart.js";
import { fatalScreen } from "../ui/screens.js";
import { CountryRuleFields, SettingsForm } from "../ui/meeting-settings-form.js";
import { parseRegionLabels } from "../meeting/settings.js";
import { RetentionFields } from "../ui/retention-form.js";

export async function showAdmin(): Promise<void> {
  const me = await openPage("admin", "Administration — Kaigi", true, () => void showAdmin());
  if (!me) return;
  if (me.user.role !== "admin") {
    showScreen(accountPage("admin", me, el("section", { id: "admin-forbidden", class: "card", attrs: { role: "alert" } }, el("h1", { text: "Administrators only" }), el("p", { text: "Your account cannot change the organisation's settings. Ask an administrator." }))), false);
    return;
  }
  let org: Org;
  let users: User[];
  let audit: AuditPage;
  let live: LiveMeeting[];
  try {
    [org, users, audit, live] = await Promise.all([getOrg(), listUsers(), getAuditLog(), listLiveMeetings()]);
  } catch (e) {
    showScreen(fatalScreen("unavailable", asApiError(e).message, [{ id: "retry", label: "Try again", run: () => void showAdmin() }]));
    return;
  }
  const usersTable = new UsersTable(users, me.user.id);
  const names = new Map(users.map((u) => [u.id, u.name]));
  const auditCard = auditSection(audit, names, (before) => getAuditLog(before));
  const liveCard = liveMeetingsSection(live, { load: listLiveMeetings, end: endLiveMeeting, lock: lockMeeting, ownerName: (id) => (id === undefined ? "—" : (names.get(id) ?? id)) });
  showScreen(accountPage("admin", me, el("h1", { text: "Administration" }), orgForm(org), usersTable.root, newUserForm(usersTable), liveCard, usageSection({ load: getUsage, now: () => new Date() }), tokensSection("org"), webhooksSection(), ssoSection(), auditCard), false);
}

function orgForm(org: Org): HTMLFormElement {
  const name = field({ id: "org-name", label: "Organisation name", value: org.name, attrs: { maxlength: 100 } });
  const require2fa = checkbox("org-require2fa", "Require two-factor authentication", "Everyone must set up an authenticator app before they can use their account.");
  require2fa.input.checked = org.require2FA;
  const requirePasskeys = checkbox(
    "org-require-passkeys",
    "Require passkeys",
    "Everyone must add a passkey before they can use their account. Add one for your own account first; resetting someone's two-factor removes theirs, and they add a new one at their next sign-in.",
  );
  requirePasskeys.input.checked = org.requirePasskeys === true;
  const signUp = checkbox("org-allow-signup", "Allow anyone to create an account", "Otherwise only administrators create accounts.");
  signUp.input.checked = org.allowSignUp;
  const defaults = new SettingsForm("defaults", "Defaults for new meetings");
  defaults.set(org.meetingDefaults);
  const retention = org.retention ? new RetentionFields(org.retention) : null;
  // The country rule: only where the server has a GeoIP database.
  const country = org.geoip
    ? new CountryRuleFields("org", "Countries", "Applies to every meeting, checked when someone joins, from the address they connect from (behind a VPN or proxy, that of the VPN or proxy). A meeting's host can only keep out more people.")
    : null;
  country?.set(org.country);
  const noCountry = org.geoip
    ? null
    : el("p", { id: "org-country-unavailable", class: "hint", text: "Country rules need a GeoIP database, and this server has none: its operator sets geoip.database in the configuration." });
  const regions = field({
    id: "org-regions",
    label: "Regions meetings are held in",
    value: org.regions.join(" "),
    hint: `Region labels, separated by spaces, like eu-central eu-west; empty: anywhere. Meetings are held only on servers in these regions, and a meeting's host can only narrow them. This server is ${org.region ? `in ${org.region}` : "in no region (its operator sets region in the configuration)"}.`,
    attrs: { autocapitalize: "none", spellcheck: "false" },
  });
  const readRegions = (): string[] | null => {
    setError(regions.error, null);
    const parsed = parseRegionLabels(regions.input.value);
    if ("bad" in parsed) {
      setError(regions.error, `"${parsed.bad}" is not a region label (lower-case letters, digits and hyphens).`);
      return null;
    }
    return parsed.regions;
  };
  const error = errorLine("org-error");
  const status = statusLine("org-status");
  const submit = submitButton("org-save", "Save");
  let saved = org;
  const form = el(
    "form",
    { id: "org-form", class: "card", attrs: { novalidate: true, "aria-labelledby": "org-title" } },
    el("h2", { id: "org-title", text: "Organisation" }),
    name.root,
    require2fa.root,
    requirePasskeys.root,
    signUp.root,
    defaults.root,
    retention?.root ?? null,
    country?.root ?? noCountry,
    regions.root,
    error,
    el("div", { class: "row" }, submit, status),
  );
  onSubmit(form, {
    button: submit,
    error,
    status,
    fallback: "The settings could not be saved.",
    check: () => (retention === null || retention.read() !== null) && (country === null || country.read() !== null) && readRegions() !== null,
    run: async () => {
      saved = await saveOrg({
        name: name.input.value.trim(),
        require2FA: require2fa.input.checked,
        requirePasskeys: requirePasskeys.input.checked,
        allowSignUp: signUp.input.checked,
        meetingDefaults: defaults.read(saved.meetingDefaults),
        retention: retention?.read() ?? undefined,
        country: country?.read() ?? saved.country,
        regions: readRegions() ?? saved.regions,
      });
      regions.input.value = saved.regions.join(" ");
      country?.set(saved.country);
      defaults.set(saved.meetingDefaults);
      if (saved.retention) retention?.set(saved.retention);
      status.textContent = "Saved.";
    },
  });
  return form;
}

class UsersTable {
  readonly root: HTMLElement;
  private readonly body: HTMLTableSectionElement;
  private readonly error = errorLine("users-error");
  private readonly status = statusLine("users-status");

  constructor(
    private users: User[],
    private readonly me: string,
  ) {
    this.body = el("tbody");
    this.root = el(
      "section",
      { id: "users", class: "card", attrs: { "aria-labelledby": "users-title" } },
      el("h2", { id: "users-title", text: "Users" }),
      el(
        "div",
        { class: "table-wrap" },
        el(
          "table",
          { class: "table" },
          el("thead", {}, el("tr", {}, ...["E-mail", "Name", "Role", "Two-factor", "Status", "Actions"].map((h) => el("th", { text: h, attrs: { scope: "col" } })))),
          this.body,
        ),
      ),
      this.error,
      this.status,
    );
    this.render();
  }

  add(u: User): void {
    this.users = [...this.users, u];
    this.render();
  }

  private render(): void {
    replace(
      this.body,
      ...this.users.map((u) =>
        el(
          "tr",
          { attrs: { "data-user": u.email, "data-state": u.suspended ? "suspended" : "active" } },
          el("td", { text: u.email }),
          el("td", { text: u.name }),
          el("td", { text: u.role === "admin" ? "Administrator" : "Member" }),
          el("td", {}, el("span", { class: `pill ${u.twoFactor || (u.passkeys ?? 0) > 0 ? "on" : "off"}`, text: twoFactorText(u) })),
          el(
            "td",
            {},
            u.suspended
              ? el("span", { class: "pill off", text: "Suspended", attrs: { title: `Reason given: ${u.suspended.reason}` } })
              : el("span", { class: "pill on", text: "Active" }),
          ),
          el("td", { class: "row-actions" }, ...(u.id === this.me ? [el("span", { class: "hint", text: "You" })] : this.actions(u))),
        ),
      ),
    );
  }

  private actions(u: User): HTMLButtonElement[] {
    const button = (action: UserAction, label: string, danger = false): HTMLButtonElement =>
      el("button", {
        class: danger ? "button small danger" : "button small",
        text: label,
        attrs: { type: "button", "data-action": action, "aria-label": `${label}: ${u.name}` },
        on: { click: () => void this.act(u, action) },
      });
    const out = [u.suspended ? button("reinstate", "Reinstate") : button("suspend", "Suspend", true)];
    if (u.twoFactor || (u.passkeys ?? 0) > 0) out.push(button("reset-2fa", "Reset two-factor"));
    out.push(button("delete", "Delete", true));
    return out;
  }

  /** Asks for the reason (shown to the person, kept in the audit log), then acts. */
  private async act(u: User, action: UserAction): Promise<void> {
    const text = ACTIONS[action];
    const reason = el("textarea", { id: "user-action-reason", class: "reason", attrs: { maxlength: 500, rows: 3, required: action !== "reinstate" } });
    const problem = errorLine("user-action-problem");
    const ok = await openDialog(this.root, {
      id: "user-action",
      title: text.title(u),
      body: [
        el("p", { text: text.explain }),
        el("div", { class: "field" }, el("label", { text: action === "reinstate" ? "Reason (optional)" : "Reason (shown to them, and kept in the audit log)", attrs: { for: "user-action-reason" } }), reason),
        problem,
      ],
      confirm: { id: "user-action-confirm", label: text.confirm, danger: action !== "reinstate" },
      validate: () => {
        if (action === "reinstate" || reason.value.trim() !== "") return true;
        setError(problem, "Give a reason: the person is shown it.");
        reason.focus();
        return false;
      },
    });
    if (!ok) return;
    setError(this.error, null);
    try {
      const now = await actOnUser(u.id, action, reason.value.trim());
      this.users = now === null ? this.users.filter((x) => x.id !== u.id) : this.users.map((x) => (x.id === u.id ? now : x));
      this.render();
      this.status.textContent = text.done(u);
    } catch (e) {
      setError(this.error, asApiError(e).message);
    }
  }
}

const ACTIONS: Record<UserAction, { title: (u: User) => string; explain: string; confirm: string; done: (u: User) => string }> = {
  suspend: {
    title: (u) => `Suspend ${u.name}?`,
    explain: "They are signed out everywhere and taken out of any meeting at once, and cannot sign in until you reinstate them. When they try, they are shown your reason.",
    confirm: "Suspend",
    done: (u) => `${u.name} is suspended.`,
  },
  reinstate: {
    title: (u) => `Reinstate ${u.name}?`,
    explain: "They can sign in again.",
    confirm: "Reinstate",
    done: (u) => `${u.name} can sign in again.`,
  },
  "reset-2fa": {
    title: (u) => `Reset two-factor for ${u.name}?`,
    explain: "Their authenticator app, passkeys and recovery codes stop working; they sign in with their password alone and set up two-factor again. Do this only when you are sure it is them asking.",
    confirm: "Reset two-factor",
    done: (u) => `Two-factor is off for ${u.name}.`,
  },
  delete: {
    title: (u) => `Delete ${u.name}'s account?`,
    explain: "The account, its sessions and its meetings are deleted for good, and it is taken out of any meeting at once. The audit log keeps that it happened and your reason.",
    confirm: "Delete account",
    done: (u) => `${u.name}'s account is deleted.`,
  },
};

function newUserForm(table: UsersTable): HTMLFormElement {
  const email = field({ id: "new-user-email", label: "E-mail", type: "email", autocomplete: "off" });
  const name = field({ id: "new-user-name", label: "Name", attrs: { maxlength: 64 } });
  const password = field({ id: "new-user-password", label: "Initial password", type: "password", autocomplete: "new-password", hint: "At least 10 characters. Give it to them in person or over a channel you trust." });
  const role = selectField("new-user-role", "Role", [
    ["member", "Member"],
    ["admin", "Administrator"],
  ]);
  const error = errorLine("new-user-error");
  const status = statusLine("new-user-status");
  const submit = submitButton("new-user-submit", "Create user");
  const form = el(
    "form",
    { id: "new-user-form", class: "card", attrs: { novalidate: true, "aria-labelledby": "new-user-title" } },
    el("h2", { id: "new-user-title", text: "Create a user" }),
    el("div", { class: "field-row" }, email.root, name.root),
    el("div", { class: "field-row" }, password.root, role.root),
    error,
    el("div", { class: "row" }, submit, status),
  );
  onSubmit(form, {
    button: submit,
    error,
    status,
    fallback: "The user could not be created.",
    fields: accountFields(email, name, password),
    run: async () => {
      const u = await createUser({
        email: email.input.value.trim(),
        name: name.input.value.trim(),
        password: password.input.value,
        role: role.select.value === "admin" ? "admin" : "member",
      });
      table.add(u);
      status.textContent = `${u.name} can now sign in as ${u.email}.`;
      form.reset();
      email.input.focus();
    },
  });
  return form;
}

/** An account's two-factor in the users table: the app, passkeys, both, or off. */
function twoFactorText(u: User): string {
  const keys = u.passkeys ?? 0;
  const passkeys = keys === 1 ? "1 passkey" : `${keys} passkeys`;
  if (u.twoFactor) return keys > 0 ? `App, ${passkeys}` : "On";
  return keys > 0 ? passkeys : "Off";
}
