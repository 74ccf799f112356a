// Entry point: picks the screen from the address.
//   /          home: start, schedule and list meetings, or sign in
//   /signin    sign in (then the second factor)
//   /signup    create an account
//   /account   security settings (two-factor, sign out)
//   /schedule  schedule a meeting
//   /admin     the organisation's settings and users
//   /privacy   what the server and the browser keep, why, for how long
//   /about     the version and the web client's fingerprint
//   /transparency  the transparency report, from the audit log
//   /recordings  one's recordings (decrypted in the browser) and recording key
//   /m/{id}    the pre-join screen, then the meeting

import { showAbout } from "./pages/about.js";
import { showAccount } from "./pages/account.js";
import { showAdmin } from "./pages/admin.js";
import { installDebugHook, setState, showScreen } from "./app.js";
import { showHome } from "./pages/home.js";
import { meetingIdFromPath } from "./lib/meetingid.js";
import { showPrejoin } from "./pages/prejoin.js";
import { showPrivacy } from "./pages/privacy.js";
import { showRecordings } from "./pages/recordings.js";
import { showSchedule } from "./pages/schedule.js";
import { showSignIn } from "./pages/signin.js";
import { showSignUp } from "./pages/signup.js";
import { showTransparency } from "./pages/transparency.js";
import { fatalScreen } from "./ui/screens.js";
import { installReauthPrompt } from "./ui/reauth-prompt.js";

const PAGES: Record<string, () => unknown> = {
  "/": showHome,
  "/index.html": showHome,
  "/signin": showSignIn,
  "/signup": showSignUp,
  "/account": showAccount,
  "/schedule": showSchedule,
  "/admin": showAdmin,
  "/privacy": showPrivacy,
  "/about": showAbout,
  "/transparency": showTransparency,
  "/recordings": showRecordings,
};

function route(): void {
  const path = location.pathname.length > 1 ? location.pathname.replace(/\/$/, "") : location.pathname;
  const page = PAGES[path];
  if (page) {
    void page();
    return;
  }
  const id = meetingIdFromPath(path);
  if (id !== null) {
    void showPrejoin(id);
    return;
  }
  setState("error");
  showScreen(fatalScreen("page_not_found", "There is nothing at this address."));
}

installDebugHook();
installReauthPrompt();
route();
