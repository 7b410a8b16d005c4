// Team: the page is plain HTML forms; this only opens their dialogs (reset password, remove).
import { openDialog } from "./common.js";
// The Invites section of this page.
import "./invites.js";

for (const button of document.querySelectorAll("button[data-dialog]")) {
  button.addEventListener("click", () => {
    const dialog = document.getElementById(button.dataset.dialog);
    if (dialog) openDialog(dialog);
  });
}
