// The header of the home, account, schedule and admin pages: the brand, and
// who is signed in with a menu (security settings, administration, sign out),
// or the ways to sign in.

import { signOut, type Me } from "../api/accounts.js";
import { hueOf, initials } from "../meeting/roster.js";
import { el, type Child } from "./dom.js";
import { MenuButton, type MenuItem } from "./menu.js";
import { brand } from "./screens.js";
import { siteFooter } from "./site-footer.js";

export function pageHeader(me: Me | null): HTMLElement {
  const end = el("nav", { class: "header-end", attrs: { "aria-label": "Account" } });
  if (me === null) {
    end.append(
      el("a", { id: "header-signin", class: "button", attrs: { href: "/signin" }, text: "Sign in" }),
      el("a", { id: "header-signup", class: "button primary", attrs: { href: "/signup" }, text: "Create account" }),
    );
  } else {
    const u = me.user;
    const avatar = el("span", { class: "people-avatar small", attrs: { "aria-hidden": "true" }, text: initials(u.name) });
    avatar.style.setProperty("--hue", String(hueOf(u.id)));
    const menu = new MenuButton({
      id: "account-menu-button",
      label: `Account: ${u.name} (${u.email})`,
      buttonClass: "account-button",
      content: [avatar, el("span", { class: "account-name", text: u.name })],
      header: () => [
        el("span", { class: "menu-header-name", text: u.name }),
        el("span", { class: "menu-header-sub", text: u.email }),
        me.organisation.name ? el("span", { class: "menu-header-sub", text: me.organisation.name }) : null,
      ],
      items: () => {
        const items: MenuItem[] = [
          { action: "home", label: "Meetings", href: "/" },
          { action: "account", label: "Security settings", href: "/account" },
          { action: "recordings", label: "Recordings", href: "/recordings" },
        ];
        if (u.role === "admin") items.push({ action: "admin", label: "Administration", href: "/admin" });
        items.push({ action: "signout", label: "Sign out", run: () => void signOutAndLeave() });
        return items;
      },
    });
    end.append(menu.root);
  }
  return el("header", { class: "page-header with-account" }, brand(), end);
}

async function signOutAndLeave(): Promise<void> {
  try {
    await signOut();
  } finally {
    location.assign("/signin");
  }
}

/** A page with the account header: `main#id` holding a centred column, and the site's footer. */
export function accountPage(id: string, me: Me | null, ...children: Child[]): HTMLElement {
  return el("main", { id, class: "page" }, pageHeader(me), el("div", { class: "page-body" }, ...children), siteFooter());
}
