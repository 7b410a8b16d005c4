// Domains: list, add, delete; a 409 ("still has links") is explained with a force option.
import { announce, api, apiAll, clearErrors, el, fieldError, fmtTime, openDialog, showProblem } from "./common.js";

const $ = (id) => document.getElementById(id);

const body = $("domains-body");
const status = $("domains-status");
const form = $("domain-form");
const hostname = $("domain-hostname");
const add = $("domain-add");
const conflict = $("domain-conflict");
let domains = [];
let pending = null; // the domain whose deletion was refused with 409

function row(d) {
  const readOnly = d.source === "config";
  return el("tr", { "data-id": String(d.id), "data-hostname": d.hostname },
    el("td", { "data-label": "Hostname" }, el("strong", { text: d.hostname })),
    el("td", { "data-label": "Links" }, String(d.link_count)),
    el("td", { "data-label": "Source" }, readOnly ? el("span", { class: "badge muted", text: "From config file" }) : "Added here"),
    el("td", { "data-label": "Added" }, fmtTime(d.created_at)),
    el("td", { class: "actions", "data-label": "Actions" },
      readOnly
        ? el("span", { class: "hint", text: "read-only: edit the config file" })
        : el("button", { type: "button", class: "danger", text: "Delete", "data-action": "delete", "aria-label": `Delete ${d.hostname}` })));
}

async function load() {
  try {
    domains = await apiAll("/api/v1/domains");
    body.replaceChildren();
    if (!domains.length) {
      body.append(el("tr", { class: "empty" }, el("td", { colspan: "5", text: "No domains yet. Add the first one above." })));
    }
    for (const d of domains) body.append(row(d));
  } catch (e) {
    announce(status, `Could not load the domains: ${e.message}`, true);
  }
}

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearErrors(form);
  if (!hostname.value.trim()) {
    fieldError(form, "hostname", "Enter a hostname, e.g. go.example.com.");
    hostname.focus();
    return;
  }
  add.disabled = true;
  try {
    const d = await api("POST", "/api/v1/domains", { hostname: hostname.value.trim() });
    hostname.value = "";
    announce(status, `Domain ${d.hostname} added.`);
    await load();
  } catch (e) {
    if (e.status === 409 && !(e.problem.errors || []).length) {
      fieldError(form, "hostname", e.message);
      hostname.focus();
    } else {
      showProblem(form, e);
    }
  } finally {
    add.disabled = false;
  }
});

async function remove(d, force) {
  const q = force ? "?force=true" : "";
  await api("DELETE", `/api/v1/domains/${d.id}${q}`);
  announce(status, force ? `Domain ${d.hostname} and its links deleted.` : `Domain ${d.hostname} deleted.`);
  await load();
}

body.addEventListener("click", async (ev) => {
  const btn = ev.target.closest("button[data-action=delete]");
  if (!btn) return;
  const d = domains.find((x) => String(x.id) === btn.closest("tr").dataset.id);
  if (!d) return;
  if (!window.confirm(`Delete the domain ${d.hostname}?`)) return;
  try {
    await remove(d, false);
  } catch (e) {
    if (e.status === 409) {
      pending = d;
      $("domain-conflict-detail").textContent = e.message;
      $("domain-conflict-explain").textContent = d.link_count > 0
        ? `${d.hostname} still has ${d.link_count} link${d.link_count === 1 ? "" : "s"}. A domain with links cannot be deleted on its own: you can delete the domain together with all of its links, or cancel and move or delete the links first.`
        : `The server refused to delete ${d.hostname}. You can try deleting it together with everything that depends on it.`;
      openDialog(conflict, $("domain-force"));
    } else {
      announce(status, `Could not delete ${d.hostname}: ${e.message}`, true);
    }
  }
});

$("domain-force").addEventListener("click", async () => {
  const d = pending;
  if (!d) return;
  try {
    await remove(d, true);
    conflict.close();
  } catch (e) {
    $("domain-conflict-detail").textContent = `Still refused: ${e.message}`;
  }
});

load();
