// Entry point: picks the screen from the address.
//   /        the home screen
//   /m/{id}  the pre-join screen, then the meeting

import { installDebugHook, setState, showScreen } from "./app.js";
import { showHome } from "./home.js";
import { meetingIdFromPath } from "./meetingid.js";
import { showPrejoin } from "./prejoin.js";
import { fatalScreen } from "./ui/screens.js";

function route(): void {
  const path = location.pathname;
  if (path === "/" || path === "/index.html") {
    showHome();
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
route();
