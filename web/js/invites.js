// Invites: make a one-time link (shown once, with Copy), list the pending ones, withdraw one.
import { COPY_BY_HAND, announce, api, apiAll, capitalized, clearErrors, copyText, el, fmtTime, showProblem, timeEl } from "./common.js";

const $ = (id) => document.getElementById(id);

const body = $("invites-body");
const status = $("invites-status");
const form = $("invite-form");
const role = $("invite-role");
const expiry = $("invite-expiry");
const create = $("invite-create");
const created = $("invite-created");
const url = $("invite-url");
const copyBtn = $("invite-copy");
const copyStatus = $("invite-copy-status");
let invites = [];

function row(i) {
  return el("tr", { "data-id": String(i.id) },
    el("td", { "data-label": "Role" }, el("strong", { text: i.role })),
    el("td", { "data-label": "Created by" }, i.created_by),
    el("td", { "data-label": "Expires" }, timeEl(i.expires_at)),
    el("td", { class: "actions", "data-label": "Actions" },
      el("button", { type: "button", class: "danger", text: "Withdraw", "data-action": "withdraw",
        "aria-label": `Withdraw the ${i.role} invite made by ${i.created_by}` })));
}

async function load() {
  try {
    invites = await apiAll("/api/v1/invites");
    body.replaceChildren();
    if (!invites.length) {
      body.append(el("tr", { class: "empty" }, el("td", { colspan: "4", text: "No pending invites." })));
    }
    for (const i of invites) body.append(row(i));
  } catch (e) {
    announce(status, `Could not load the invites: ${e.message}`, true);
  }
}

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearErrors(form);
  create.disabled = true;
  try {
    const made = await api("POST", "/api/v1/invites", { role: role.value, expires_in: expiry.value });
    url.value = made.url;
    copyStatus.textContent = "";
    created.hidden = false;
    announce(status, `Invite link for a new ${made.role} created. It works once, until ${fmtTime(made.expires_at)}.`);
    copyBtn.focus();
    await load();
  } catch (e) {
    showProblem(form, e);
  } finally {
    create.disabled = false;
  }
});

copyBtn.addEventListener("click", async () => {
  const ok = await copyText(url.value, copyBtn);
  if (ok) {
    copyBtn.textContent = "Copied";
    copyStatus.textContent = "The invite link is on your clipboard.";
    setTimeout(() => { copyBtn.textContent = "Copy"; }, 2000);
  } else {
    url.focus();
    url.select();
    copyStatus.textContent = COPY_BY_HAND;
  }
});

body.addEventListener("click", async (ev) => {
  const btn = ev.target.closest("button[data-action=withdraw]");
  if (!btn) return;
  const i = invites.find((x) => String(x.id) === btn.closest("tr").dataset.id);
  if (!i) return;
  btn.disabled = true;
  try {
    await api("DELETE", `/api/v1/invites/${i.id}`);
    announce(status, `The ${i.role} invite made by ${i.created_by} was withdrawn; its link no longer works.`);
  } catch (e) {
    announce(status, `The invite was not withdrawn. ${capitalized(e.message)}`, true);
  }
  await load();
});

load();
