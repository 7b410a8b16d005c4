// The frame of every signed-in page: the "Menu" button that folds the navigation away on
// narrow screens (without this script the navigation simply stays open), and times the server
// wrote (<time class="local" datetime="...">) shown in the reader's local time, with how far
// away they are.
import { fmtWhen } from "./common.js";

const toggle = document.getElementById("menu-toggle");
const menu = document.getElementById("nav-menu");

function setOpen(open) {
  toggle.setAttribute("aria-expanded", String(open));
  menu.classList.toggle("open", open);
}

if (toggle && menu) {
  document.body.classList.add("has-menu");
  toggle.hidden = false;
  setOpen(false);
  toggle.addEventListener("click", () => setOpen(toggle.getAttribute("aria-expanded") !== "true"));
  // Escape folds an open menu and gives focus back to its button.
  menu.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && toggle.getAttribute("aria-expanded") === "true" && toggle.offsetParent !== null) {
      setOpen(false);
      toggle.focus();
    }
  });
}

// Every <time class="local">, the server's and those pages add (common.js `timeEl`): local
// time and how far it is ("… (in 20 days)"), the relative part kept current each minute.
function showTimes() {
  for (const t of document.querySelectorAll("time.local[datetime]")) {
    const text = fmtWhen(t.getAttribute("datetime"));
    if (text && t.textContent !== text) t.textContent = text;
  }
}
showTimes();
setInterval(showTimes, 60_000);
