// Integrations → API Keys: table, Create/Edit API Key modal, one-time key box, Revoke/Delete.
import { announce, api, apiAll, clearErrors, copyText, el, fieldError, fmtTime, fromLocalInput, openDialog, showProblem, toLocalInput } from "./common.js";

const $ = (id) => document.getElementById(id);

const body = $("keys-body");
const status = $("keys-status");
const dialog = $("key-dialog");
const form = $("key-form");
const title = $("key-dialog-title");
const submit = $("key-submit");
const name = $("key-name");
const domains = $("key-domains");
const allowAll = $("key-allow-all");
const whitelistField = $("key-whitelist-field");
const whitelist = $("key-whitelist");
const neverExpire = $("key-never-expire");
const expiryField = $("key-expiry-field");
const expires = $("key-expires");
const created = $("key-created");
const keyValue = $("key-value");
const copyBtn = $("key-copy");
const copyStatus = $("key-copy-status");

let editing = null; // the ApiKey being edited, or null when creating
let busy = false;
let keys = [];

// ---- table ---------------------------------------------------------------------------

function badge(text, kind) {
  return el("span", { class: `badge ${kind || ""}`, text });
}

function row(k) {
  const readOnly = k.source === "config";
  const actions = el("td", { class: "actions" });
  if (readOnly) {
    actions.append(badge("From config file", "muted"), el("span", { class: "hint", text: " read-only" }));
  } else {
    if (k.status !== "revoked") {
      actions.append(el("button", { type: "button", text: "Edit", "data-action": "edit", "aria-label": `Edit ${k.name}` }));
      actions.append(el("button", { type: "button", class: "warn", text: "Revoke", "data-action": "revoke", "aria-label": `Revoke ${k.name}` }));
    }
    actions.append(el("button", { type: "button", class: "danger", text: "Delete", "data-action": "delete", "aria-label": `Delete ${k.name}` }));
  }
  const scope = k.domains.length ? k.domains.join(", ") : el("span", { class: "muted", text: "All domains" });
  const ips = k.allow_all_ips ? el("span", { class: "muted", text: "All IP addresses" }) : k.ip_whitelist.join(", ");
  const lastUsed = k.last_used_at ? `${fmtTime(k.last_used_at)}${k.last_used_ip ? " from " + k.last_used_ip : ""}` : el("span", { class: "muted", text: "Never" });
  return el("tr", { "data-id": String(k.id), "data-name": k.name },
    el("td", { "data-label": "Name" }, el("strong", { text: k.name }), readOnly ? [" ", badge("config", "muted")] : null),
    el("td", { "data-label": "Key prefix" }, el("code", { text: `${k.prefix}…` })),
    el("td", { "data-label": "Domain scope" }, scope),
    el("td", { "data-label": "IP whitelist" }, ips),
    el("td", { "data-label": "Expires" }, k.expires_at ? fmtTime(k.expires_at) : el("span", { class: "muted", text: "Never" })),
    el("td", { "data-label": "Last used" }, lastUsed),
    el("td", { "data-label": "Status" }, badge(k.status, `status-${k.status}`)),
    actions);
}

function render() {
  body.replaceChildren();
  if (!keys.length) {
    body.append(el("tr", { class: "empty" }, el("td", { colspan: "8", text: "No API keys yet. Create one with \"Create API Key\"." })));
    return;
  }
  for (const k of keys) body.append(row(k));
}

async function load() {
  try {
    keys = await apiAll("/api/v1/api-keys");
    render();
  } catch (e) {
    announce(status, `Could not load the keys: ${e.message}`, true);
  }
}

async function loadDomains() {
  try {
    const list = await apiAll("/api/v1/domains");
    const chosen = new Set(Array.from(domains.selectedOptions).map((o) => o.value));
    domains.replaceChildren(...list.map((d) => el("option", { value: d.hostname, text: d.hostname, selected: chosen.has(d.hostname) })));
    domains.size = Math.max(2, Math.min(6, list.length));
    domains.disabled = list.length === 0;
  } catch (e) {
    announce(status, `Could not load the domains: ${e.message}`, true);
  }
}

// ---- modal ---------------------------------------------------------------------------

function syncToggles() {
  whitelistField.hidden = allowAll.checked;
  expiryField.hidden = neverExpire.checked;
}

function showForm() {
  dialog.setAttribute("aria-labelledby", "key-dialog-title");
  form.hidden = false;
  created.hidden = true;
  keyValue.textContent = "";
}

function openCreate() {
  editing = null;
  form.reset();
  clearErrors(form);
  for (const o of domains.options) o.selected = false;
  title.textContent = "Create API Key";
  submit.textContent = "Create API Key";
  showForm();
  syncToggles();
  openDialog(dialog, name);
}

function openEdit(k) {
  editing = k;
  form.reset();
  clearErrors(form);
  title.textContent = "Edit API Key";
  submit.textContent = "Update API Key";
  name.value = k.name;
  const scope = new Set(k.domains);
  for (const o of domains.options) o.selected = scope.has(o.value);
  allowAll.checked = k.allow_all_ips;
  whitelist.value = (k.ip_whitelist || []).join("\n");
  neverExpire.checked = !k.expires_at;
  expires.value = toLocalInput(k.expires_at);
  showForm();
  syncToggles();
  openDialog(dialog, name);
}

/** Whitelist lines that are not blank, each with its 1-based line number in the textarea. */
function whitelistEntries() {
  return whitelist.value.split("\n")
    .map((text, i) => ({ text: text.trim(), line: i + 1 }))
    .filter((e) => e.text !== "");
}

async function onSubmit(ev) {
  ev.preventDefault();
  if (busy) return;
  clearErrors(form);
  const entries = whitelistEntries();
  const payload = {
    name: name.value,
    domains: Array.from(domains.selectedOptions).map((o) => o.value),
    allow_all_ips: allowAll.checked,
    ip_whitelist: allowAll.checked ? [] : entries.map((e) => e.text),
    expires_at: null,
  };
  if (!neverExpire.checked) {
    if (!expires.value) {
      fieldError(form, "expires_at", "Choose a date and time, or check \"Never Expire\".");
      expires.focus();
      return;
    }
    payload.expires_at = fromLocalInput(expires.value);
    if (!payload.expires_at) {
      fieldError(form, "expires_at", "This is not a valid date and time.");
      expires.focus();
      return;
    }
  }
  const mapField = (e) => {
    if (e.field === "ip_whitelist" && e.index !== undefined) {
      const entry = entries[e.index];
      const where = entry
        ? (e.message.includes(entry.text) ? `Line ${entry.line}` : `Line ${entry.line} ("${entry.text}")`)
        : `Entry ${e.index + 1}`;
      return { field: "ip_whitelist", message: `${where}: ${e.message}` };
    }
    if (e.field === "allow_all_ips") return { field: "ip_whitelist", message: e.message };
    if (e.field === "domains" && e.index !== undefined) {
      return { field: "domains", message: `${payload.domains[e.index] || ""}: ${e.message}` };
    }
    return e;
  };
  busy = true;
  submit.disabled = true;
  try {
    if (editing) {
      const updated = await api("PUT", `/api/v1/api-keys/${editing.id}`, payload);
      dialog.close("done");
      announce(status, `API key "${updated.name}" updated.`);
    } else {
      const made = await api("POST", "/api/v1/api-keys", payload);
      showKeyOnce(made.key);
      announce(status, `API key "${made.name}" created.`);
    }
    await load();
  } catch (e) {
    showProblem(form, e, mapField);
  } finally {
    busy = false;
    submit.disabled = false;
  }
}

/** The one time the key is visible: a highlighted box with "Copy" and "OK". */
function showKeyOnce(key) {
  form.hidden = true;
  created.hidden = false;
  dialog.setAttribute("aria-labelledby", "key-created-title");
  keyValue.textContent = key;
  copyStatus.textContent = "";
  copyBtn.focus();
}

async function onCopy() {
  const ok = await copyText(keyValue.textContent);
  if (ok) {
    copyBtn.textContent = "Copied";
    copyStatus.textContent = "The key is on your clipboard.";
    setTimeout(() => { copyBtn.textContent = "Copy"; }, 2000);
  } else {
    // Select it so the user can copy by hand.
    const range = document.createRange();
    range.selectNodeContents(keyValue);
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    copyStatus.textContent = "Copying was blocked by the browser: the key is selected, press Ctrl+C (⌘C).";
  }
}

// ---- actions -------------------------------------------------------------------------

async function revoke(k) {
  if (!window.confirm(`Revoke the API key "${k.name}"?\n\nIt stops working immediately: any application using it will get 401. The key stays listed as revoked.`)) return;
  try {
    await api("POST", `/api/v1/api-keys/${k.id}/revoke`);
    announce(status, `API key "${k.name}" revoked.`);
    await load();
  } catch (e) {
    announce(status, `Could not revoke "${k.name}": ${e.message}`, true);
  }
}

async function remove(k) {
  if (!window.confirm(`Delete the API key "${k.name}"?\n\nIt stops working immediately and is removed from this list. This cannot be undone.`)) return;
  try {
    await api("DELETE", `/api/v1/api-keys/${k.id}`);
    announce(status, `API key "${k.name}" deleted.`);
    await load();
  } catch (e) {
    announce(status, `Could not delete "${k.name}": ${e.message}`, true);
  }
}

body.addEventListener("click", (ev) => {
  const btn = ev.target.closest("button[data-action]");
  if (!btn) return;
  const id = btn.closest("tr").dataset.id;
  const k = keys.find((x) => String(x.id) === id);
  if (!k) return;
  if (btn.dataset.action === "edit") openEdit(k);
  else if (btn.dataset.action === "revoke") revoke(k);
  else if (btn.dataset.action === "delete") remove(k);
});

$("create-key").addEventListener("click", openCreate);
allowAll.addEventListener("change", () => { syncToggles(); if (!allowAll.checked) whitelist.focus(); });
neverExpire.addEventListener("change", () => { syncToggles(); if (!neverExpire.checked) expires.focus(); });
form.addEventListener("submit", onSubmit);
copyBtn.addEventListener("click", onCopy);
$("key-ok").addEventListener("click", () => dialog.close("done"));
// However the modal closes (OK, Esc, ×), the key leaves the page.
dialog.addEventListener("close", () => {
  keyValue.textContent = "";
  created.hidden = true;
  form.hidden = false;
});

syncToggles();
loadDomains();
load();
