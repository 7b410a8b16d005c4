// Integrations → API Keys: table, Create/Edit API Key modal (with permissions and a rate limit),
// Roll with a grace period, one-time key box, Disable/Enable, Revoke/Delete. What the role may
// not grant is greyed out by the page; admins (keys:all) get a "Created by" column.
import { announce, api, apiAll, clearErrors, copyText, el, fieldError, fmtTime, fromLocalInput, openDialog, showProblem, timeEl, toLocalInput } from "./common.js";
import { domainScope } from "./domain-scope.js";

const $ = (id) => document.getElementById(id);

const body = $("keys-body");
const status = $("keys-status");
const dialog = $("key-dialog");
const form = $("key-form");
const title = $("key-dialog-title");
const submit = $("key-submit");
const name = $("key-name");
const scope = domainScope($("key-domains"));
const allowAll = $("key-allow-all");
const whitelistField = $("key-whitelist-field");
const whitelist = $("key-whitelist");
const neverExpire = $("key-never-expire");
const expiryField = $("key-expiry-field");
const expires = $("key-expires");
const permissionSet = $("key-permissions");
const permissionBoxes = Array.from(permissionSet.querySelectorAll("input[name=permission]"));
const presetRadios = Array.from(permissionSet.querySelectorAll("input[name=permission_preset]"));
const noLimit = $("key-no-limit");
const rateField = $("key-rate-field");
const rate = $("key-rate");
const rollSection = $("roll-section");
const rollForm = $("roll-form");
const rollSubmit = $("roll-submit");
const created = $("key-created");
const createdTitle = $("key-created-title");
const keyValue = $("key-value");
const copyBtn = $("key-copy");
const copyStatus = $("key-copy-status");
const leave = $("key-leave");
const createdActions = $("key-created-actions");
const disableSection = $("disable-section");
const disableForm = $("disable-form");
const disableSubmit = $("disable-submit");
const revokeSection = $("revoke-section");
const revokeForm = $("revoke-form");
const revokeSubmit = $("revoke-submit");
const deleteSection = $("delete-section");
const deleteForm = $("delete-form");
const deleteSubmit = $("delete-submit");
const discard = $("key-discard");
const showCreator = "showCreator" in $("keys-rows").dataset;
const COLUMNS = showCreator ? 9 : 8;

let editing = null; // the ApiKey being edited, or null when creating
let rolling = null; // the ApiKey being rolled
let disabling = null; // the ApiKey being disabled
let revoking = null; // the ApiKey being revoked
let deleting = null; // the ApiKey being deleted
let copied = false; // the one-time key shown now went to the clipboard: closing need not ask
let opened = ""; // the Create/Edit form as it opened (formState), to tell whether anything was typed
let busy = false;
let inFlight = false; // a change was sent and its reply has not come: the modal may not close

/** Await the change `p`; meanwhile Esc, Cancel and \u00d7 leave the modal open. */
async function sending(p) {
  inFlight = true;
  try {
    return await p;
  } finally {
    inFlight = false;
  }
}
let keys = [];

// ---- table ---------------------------------------------------------------------------

function badge(text, kind) {
  return el("span", { class: `badge ${kind || ""}`, text });
}

function row(k) {
  const readOnly = k.source === "config";
  const actions = el("td", { class: "actions" });
  // Every key, from the config file or revoked too, has its usage charts and request log.
  actions.append(el("a", { class: "button usage-link", href: `/ui/integrations/api-keys/${k.id}/usage`, text: "Usage", "aria-label": `Usage of ${k.name}` }));
  if (readOnly) {
    actions.append(badge("From config file", "muted"), el("span", { class: "hint", text: " read-only" }));
  } else {
    if (k.status !== "revoked") {
      actions.append(el("button", { type: "button", text: "Edit", "data-action": "edit", "aria-label": `Edit ${k.name}` }));
      if (k.status === "active" && k.rotated_to === null) {
        actions.append(el("button", { type: "button", text: "Roll", "data-action": "roll", "aria-label": `Roll ${k.name}` }));
      }
      if (k.status === "active") {
        actions.append(el("button", { type: "button", text: "Disable", "data-action": "disable", "aria-label": `Disable ${k.name}` }));
      } else if (k.status === "disabled") {
        actions.append(el("button", { type: "button", text: "Enable", "data-action": "enable", "aria-label": `Enable ${k.name}` }));
      }
      actions.append(el("button", { type: "button", class: "warn", text: "Revoke", "data-action": "revoke", "aria-label": `Revoke ${k.name}` }));
    }
    actions.append(el("button", { type: "button", class: "danger", text: "Delete", "data-action": "delete", "aria-label": `Delete ${k.name}` }));
  }
  const scopeCell = k.domains.length ? k.domains.join(", ") : el("span", { class: "muted", text: "All domains" });
  const ips = k.allow_all_ips ? el("span", { class: "muted", text: "All IP addresses" }) : k.ip_whitelist.join(", ");
  const lastUsed = k.last_used_at ? [timeEl(k.last_used_at), k.last_used_ip ? ` from ${k.last_used_ip}` : null] : el("span", { class: "muted", text: "Never" });
  // The prefix sits under the name: one column less, so the actions fit at 1280 px.
  return el("tr", { "data-id": String(k.id), "data-name": k.name, "data-prefix": k.prefix },
    el("td", { "data-label": "Name", class: "key-name" }, el("strong", { text: k.name }), readOnly ? [" ", badge("config", "muted")] : null,
      el("div", {}, el("code", { class: "key-prefix", title: "Key prefix", text: `${k.prefix}…` }))),
    el("td", { "data-label": "Domain scope", class: "wrap" }, scopeCell),
    el("td", { "data-label": "IP whitelist", class: "wrap" }, ips),
    el("td", { "data-label": "Permissions", class: "permissions-cell" }, permissionsCell(k)),
    el("td", { "data-label": "Expires" }, k.expires_at ? timeEl(k.expires_at) : el("span", { class: "muted", text: "Never" })),
    el("td", { "data-label": "Last used" }, lastUsed),
    el("td", { "data-label": "Status" }, badge(k.status, `status-${k.status}`), rotation(k)),
    showCreator ? el("td", { "data-label": "Created by" }, k.created_by || el("span", { class: "muted", text: k.source === "config" ? "config file" : "command line" })) : null,
    actions);
}

const ALL_PERMISSIONS = permissionBoxes.map((b) => b.value);
// "Full access" in the form: every permission the role may grant (the others are disabled).
const GRANTABLE = permissionBoxes.filter((b) => !b.disabled).map((b) => b.value);
const READ_ONLY = (permissionSet.dataset.readOnly || "").split(" ").filter(Boolean);
const sameSet = (a, b) => a.length === b.length && a.every((x) => b.includes(x));

/** "Full access", "Read only" or the permissions, and the rate limit when there is one. */
function permissionsCell(k) {
  const perms = k.permissions || [];
  let what;
  if (sameSet(perms, ALL_PERMISSIONS)) what = el("span", { class: "muted", text: "Full access" });
  else if (sameSet(perms, READ_ONLY)) what = "Read only";
  else what = el("span", {}, perms.flatMap((p, i) => [i ? ", " : "", el("code", { text: p })]));
  const limit = k.rate_limit_per_minute ? el("div", { class: "hint", text: `${k.rate_limit_per_minute} requests/min` }) : null;
  return [what, limit];
}

/** The link between a rolled key and its replacement, both ways, by their prefixes. */
function rotation(k) {
  const other = (id) => {
    const o = keys.find((x) => x.id === id);
    return o ? `${o.prefix}…` : `key ${id}`;
  };
  if (k.rotated_to !== null && k.rotated_to !== undefined) {
    const until = k.status === "active" && k.rotated_at ? ` · works until ${fmtTime(k.rotated_at)}` : "";
    return el("div", { class: "rotation hint" }, "rotated → ", el("code", { text: other(k.rotated_to) }), until);
  }
  if (k.rotated_from !== null && k.rotated_from !== undefined) {
    return el("div", { class: "rotation hint" }, "rotated from ", el("code", { text: other(k.rotated_from) }));
  }
  return null;
}

function render() {
  body.replaceChildren();
  if (!keys.length) {
    body.append(el("tr", { class: "empty" }, el("td", { colspan: String(COLUMNS), text: "No API keys yet. Create one with \"Create API Key\"." })));
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

/**
 * After `load()` rebuilt the table, the focus (which was on a row's button, now gone) goes to
 * key `id`'s `action` button, else its first action, else "Create API Key"; unless the user
 * has put it somewhere else meanwhile.
 */
function refocus(id, action) {
  const now = document.activeElement;
  if (now && now !== document.body && document.contains(now)) return;
  const tr = body.querySelector(`tr[data-id="${CSS.escape(String(id))}"]`);
  const target = (tr && (tr.querySelector(`button[data-action="${action}"]`) || tr.querySelector("button[data-action]"))) || $("create-key");
  target.focus();
}

async function loadDomains() {
  try {
    const list = await apiAll("/api/v1/domains");
    // The form may be open already: the domains' checkboxes are not something the user typed.
    const untouched = dialog.open && !form.hidden && formState() === opened;
    scope.setDomains(list.map((d) => d.hostname));
    if (untouched) opened = formState();
  } catch (e) {
    announce(status, `Could not load the domains: ${e.message}`, true);
  }
}

// ---- modal ---------------------------------------------------------------------------

/** The whitelist lines of the last read, each with its 1-based line number in the textarea. */
let entries = [];

function whitelistEntries() {
  return whitelist.value.split("\n")
    .map((text, i) => ({ text: text.trim(), line: i + 1 }))
    .filter((e) => e.text !== "");
}

function syncToggles() {
  whitelistField.hidden = allowAll.checked;
  expiryField.hidden = neverExpire.checked;
  rateField.hidden = noLimit.checked;
}

/** Tick exactly `list`, then show which preset that is. */
function setPermissions(list) {
  for (const b of permissionBoxes) b.checked = list.includes(b.value) && !b.disabled;
  syncPreset();
}

const chosenPermissions = () => permissionBoxes.filter((b) => b.checked).map((b) => b.value);

function syncPreset() {
  const chosen = chosenPermissions();
  const preset = sameSet(chosen, GRANTABLE) ? "full" : sameSet(chosen, READ_ONLY) ? "read" : "custom";
  for (const r of presetRadios) r.checked = r.value === preset;
}

function onPreset(ev) {
  const value = ev.target.value;
  if (value === "full") setPermissions(GRANTABLE);
  else if (value === "read") setPermissions(READ_ONLY);
  else permissionBoxes.find((b) => !b.disabled).focus();
}

/**
 * The groups of settings in the Create/Edit API Key form, in the guide's order. Each one starts
 * a new key (`reset`), shows an existing key (`fill`), puts its part into the request (`read`:
 * false after showing its own error), and may place or word the API's errors about its fields
 * (`explain`, see showProblem). A new setting is one more entry here and its markup in
 * src/ui/pages/api_keys.rs (key_dialog).
 */
const sections = [
  {
    // Name
    reset() { name.value = ""; },
    fill(k) { name.value = k.name; },
    read(p) { p.name = name.value; return true; },
  },
  {
    // Domain Scope
    reset() { scope.set([]); },
    fill(k) { scope.set(k.domains); },
    read(p) {
      p.domains = scope.value();
      if (scope.restricted() && !p.domains.length) {
        fieldError(form, "domains", "Choose at least one domain, or choose \u201cAll domains\u201d.");
        scope.focus();
        return false;
      }
      return true;
    },
    explain(e, p) {
      if (e.field === "domains" && e.index !== undefined) {
        return { field: "domains", subject: p.domains[e.index] || "A domain", message: e.message };
      }
      return null;
    },
  },
  {
    // IP Whitelist
    reset() { allowAll.checked = true; whitelist.value = ""; },
    fill(k) { allowAll.checked = k.allow_all_ips; whitelist.value = (k.ip_whitelist || []).join("\n"); },
    read(p) {
      entries = whitelistEntries();
      p.allow_all_ips = allowAll.checked;
      p.ip_whitelist = allowAll.checked ? [] : entries.map((e) => e.text);
      return true;
    },
    explain(e) {
      if (e.field === "ip_whitelist" && e.index !== undefined) {
        const entry = entries[e.index];
        return { field: "ip_whitelist", subject: entry ? `Line ${entry.line}` : `Entry ${e.index + 1}`, message: e.message };
      }
      if (e.field === "allow_all_ips") return { field: "ip_whitelist", message: e.message };
      return null;
    },
  },
  {
    // Expiration
    reset() { neverExpire.checked = true; expires.value = ""; },
    fill(k) { neverExpire.checked = !k.expires_at; expires.value = toLocalInput(k.expires_at); },
    read(p) {
      p.expires_at = null;
      if (neverExpire.checked) return true;
      if (!expires.value) {
        fieldError(form, "expires_at", "Choose a date and time, or check \u201cNever Expire\u201d.");
        expires.focus();
        return false;
      }
      p.expires_at = fromLocalInput(expires.value);
      if (!p.expires_at) {
        fieldError(form, "expires_at", "The expiry is not a valid date and time.");
        expires.focus();
        return false;
      }
      return true;
    },
  },
  {
    // Permissions: a preset or the boxes ticked one by one
    reset() { setPermissions(GRANTABLE); },
    fill(k) { setPermissions(k.permissions || ALL_PERMISSIONS); },
    read(p) {
      p.permissions = chosenPermissions();
      if (!p.permissions.length) {
        fieldError(form, "permissions", "Choose at least one permission, or \u201cFull access\u201d.");
        permissionBoxes[0].focus();
        return false;
      }
      return true;
    },
  },
  {
    // Rate limit
    reset() { noLimit.checked = true; rate.value = ""; },
    fill(k) {
      noLimit.checked = !k.rate_limit_per_minute;
      rate.value = k.rate_limit_per_minute ? String(k.rate_limit_per_minute) : "";
    },
    read(p) {
      p.rate_limit_per_minute = null;
      if (noLimit.checked) return true;
      const n = Number(rate.value);
      if (!rate.value.trim() || !Number.isInteger(n) || n < 1 || n > Number(rate.max)) {
        fieldError(form, "rate_limit_per_minute", `Enter a whole number of requests per minute from 1 to ${Number(rate.max).toLocaleString("en")}, or check \u201cNo Rate Limit\u201d.`);
        rate.focus();
        return false;
      }
      p.rate_limit_per_minute = n;
      return true;
    },
  },
];

/** Show one part of the modal (the form, a question, the one-time key) and hide the others. */
function showOnly(part, labelledBy) {
  for (const p of [form, rollSection, disableSection, revokeSection, deleteSection, created]) p.hidden = p !== part;
  askToDiscard(false);
  dialog.setAttribute("aria-labelledby", labelledBy);
}

function showForm() {
  showOnly(form, "key-dialog-title");
  keyValue.textContent = "";
}

/** Everything the Create/Edit form holds, as one string: equal strings, nothing typed. */
function formState() {
  return JSON.stringify(Array.from(form.elements, (e) => (e.type === "checkbox" || e.type === "radio" ? e.checked : e.value)));
}

const formTouched = () => !form.hidden && formState() !== opened;

/**
 * Esc on a form that holds what the user typed asks first ("Discard what you typed?"); Esc
 * while asking goes back to the form.
 */
function askToDiscard(ask) {
  discard.hidden = !ask;
  if (ask) $("key-discard-back").focus();
}

function openCreate() {
  editing = null;
  form.reset();
  clearErrors(form);
  for (const s of sections) s.reset();
  title.textContent = "Create API Key";
  submit.textContent = "Create API Key";
  showForm();
  syncToggles();
  opened = formState();
  openDialog(dialog, name);
}

function openEdit(k) {
  editing = k;
  form.reset();
  clearErrors(form);
  for (const s of sections) s.fill(k);
  title.textContent = "Edit API Key";
  submit.textContent = "Update API Key";
  showForm();
  syncToggles();
  opened = formState();
  openDialog(dialog, name);
}

async function onSubmit(ev) {
  ev.preventDefault();
  if (busy) return;
  clearErrors(form);
  const payload = {};
  for (const s of sections) if (!s.read(payload)) return;
  const explain = (e) => {
    for (const s of sections) {
      const placed = s.explain && s.explain(e, payload);
      if (placed) return placed;
    }
    return e;
  };
  busy = true;
  submit.disabled = true;
  try {
    if (editing) {
      const updated = await sending(api("PUT", `/api/v1/api-keys/${editing.id}`, payload));
      dialog.close("done");
      announce(status, `API key \u201c${updated.name}\u201d updated.`);
      await load();
      refocus(updated.id, "edit");
    } else {
      const made = await sending(api("POST", "/api/v1/api-keys", payload));
      showKeyOnce(made.key);
      announce(status, `API key \u201c${made.name}\u201d created.`);
      await load();
    }
  } catch (e) {
    showProblem(form, e, explain);
  } finally {
    busy = false;
    submit.disabled = false;
  }
}

// ---- the one-time key ----------------------------------------------------------------

const keyShown = () => !created.hidden && !!keyValue.textContent;

/** The one time the key is visible: a highlighted box with "Copy" and "OK". */
function showKeyOnce(key, rolled) {
  createdTitle.textContent = rolled ? createdTitle.dataset.rolled : "API Key Created";
  showOnly(created, "key-created-title");
  askToLeave(false);
  copied = false;
  keyValue.textContent = key;
  copyStatus.textContent = "";
  copyBtn.focus();
}

/**
 * Esc, × or a click outside while the key is shown: ask "Have you copied your key?" first.
 * Asked again (Esc while asking), it goes back to the key.
 */
function askToLeave(ask) {
  leave.hidden = !ask;
  createdActions.hidden = ask;
  if (ask) $("key-leave-back").focus();
}

function closeRequested() {
  if (!leave.hidden) {
    askToLeave(false);
    copyBtn.focus();
  } else {
    askToLeave(true);
  }
}

async function onCopy() {
  const ok = await copyText(keyValue.textContent);
  if (ok) {
    copied = true;
    askToLeave(false);
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
    copyStatus.textContent = "Copying was blocked by the browser: the key is selected, press Ctrl+C (\u2318C).";
  }
}

// ---- roll ----------------------------------------------------------------------------

function openRoll(k) {
  rolling = k;
  editing = null;
  clearErrors(rollForm);
  $("roll-key-name").textContent = `\u201c${k.name}\u201d (${k.prefix}\u2026)`;
  $("roll-grace-86400").checked = true;
  showOnly(rollSection, "roll-dialog-title");
  openDialog(dialog, $("roll-grace-86400"));
}

async function onRoll(ev) {
  ev.preventDefault();
  if (busy || !rolling) return;
  clearErrors(rollForm);
  const secs = Number((rollForm.querySelector("input[name=grace]:checked") || { value: "0" }).value);
  // "Now" sends null: the server stops the old key at its own now.
  const until = secs ? new Date(Date.now() + secs * 1000).toISOString().replace(/\.\d{3}Z$/, "Z") : null;
  busy = true;
  rollSubmit.disabled = true;
  try {
    const made = await sending(api("POST", `/api/v1/api-keys/${rolling.id}/roll`, { old_key_expires_at: until }));
    showKeyOnce(made.key, true);
    const when = until ? `keeps working until ${fmtTime(until)}` : "has stopped working";
    announce(status, `API key \u201c${made.name}\u201d rolled: the new key is ${made.prefix}\u2026; the old one ${when}.`);
    await load();
  } catch (e) {
    showProblem(rollForm, e);
  } finally {
    busy = false;
    rollSubmit.disabled = false;
  }
}

// ---- disable / enable ----------------------------------------------------------------

/** "Disable" asks in the modal, like Roll: the key stops working on its next request. */
function openDisable(k) {
  disabling = k;
  editing = null;
  clearErrors(disableForm);
  $("disable-key-name").textContent = `\u201c${k.name}\u201d (${k.prefix}\u2026)`;
  showOnly(disableSection, "disable-dialog-title");
  openDialog(dialog, disableSubmit);
}

async function onDisable(ev) {
  ev.preventDefault();
  if (busy || !disabling) return;
  clearErrors(disableForm);
  busy = true;
  disableSubmit.disabled = true;
  try {
    const which = disabling;
    const k = await sending(api("POST", `/api/v1/api-keys/${which.id}/disable`));
    if (dialog.open && disabling === which) dialog.close("done");
    announce(status, `API key \u201c${k.name}\u201d disabled: it gets 401 until you enable it.`);
    await load();
    refocus(which.id, "enable");
  } catch (e) {
    showProblem(disableForm, e);
  } finally {
    busy = false;
    disableSubmit.disabled = false;
  }
}

async function enable(k) {
  try {
    const after = await api("POST", `/api/v1/api-keys/${k.id}/enable`);
    const note = after.status === "active" ? "it works again" : `it is ${after.status}`;
    announce(status, `API key \u201c${k.name}\u201d enabled: ${note}.`);
    await load();
    refocus(k.id, "disable");
  } catch (e) {
    announce(status, `Could not enable "${k.name}": ${e.message}`, true);
  }
}

// ---- actions -------------------------------------------------------------------------

/**
 * Revoke and Delete ask in the modal, like Roll: the key by name and prefix (a rolled key and
 * its successor share a name), "OK" or "Cancel". Cancel, Esc and \u00d7 leave the key alone;
 * the safe answer has the focus.
 */
function openRevoke(k) {
  revoking = k;
  editing = null;
  clearErrors(revokeForm);
  $("revoke-key-name").textContent = `\u201c${k.name}\u201d (${k.prefix}\u2026)`;
  showOnly(revokeSection, "revoke-dialog-title");
  openDialog(dialog, revokeForm.querySelector("[data-close]:not(.icon)"));
}

function openDelete(k) {
  deleting = k;
  editing = null;
  clearErrors(deleteForm);
  $("delete-key-name").textContent = `\u201c${k.name}\u201d (${k.prefix}\u2026)`;
  showOnly(deleteSection, "delete-dialog-title");
  openDialog(dialog, deleteForm.querySelector("[data-close]:not(.icon)"));
}

/**
 * Send the confirmed change; errors stay in the dialog, beside the question. While it runs the
 * dialog stays (Esc, Cancel and \u00d7 do nothing: the change is under way); the reply closes it
 * only if it still asks about the same key (`current()`), then the focus goes to the key's row.
 */
async function confirmed(ev, which, current, button, call, done, action) {
  ev.preventDefault();
  if (busy || !which) return;
  clearErrors(ev.target);
  busy = true;
  button.disabled = true;
  try {
    await sending(call(which));
    if (dialog.open && current() === which) dialog.close("done");
    announce(status, done(which));
    await load();
    refocus(which.id, action);
  } catch (e) {
    showProblem(ev.target, e);
  } finally {
    busy = false;
    button.disabled = false;
  }
}

body.addEventListener("click", (ev) => {
  const btn = ev.target.closest("button[data-action]");
  if (!btn) return;
  const id = btn.closest("tr").dataset.id;
  const k = keys.find((x) => String(x.id) === id);
  if (!k) return;
  if (btn.dataset.action === "edit") openEdit(k);
  else if (btn.dataset.action === "roll") openRoll(k);
  else if (btn.dataset.action === "disable") openDisable(k);
  else if (btn.dataset.action === "enable") enable(k);
  else if (btn.dataset.action === "revoke") openRevoke(k);
  else if (btn.dataset.action === "delete") openDelete(k);
});

$("create-key").addEventListener("click", openCreate);
allowAll.addEventListener("change", () => { syncToggles(); if (!allowAll.checked) whitelist.focus(); });
neverExpire.addEventListener("change", () => { syncToggles(); if (!neverExpire.checked) expires.focus(); });
noLimit.addEventListener("change", () => { syncToggles(); if (!noLimit.checked) rate.focus(); });
for (const r of presetRadios) r.addEventListener("change", onPreset);
for (const b of permissionBoxes) b.addEventListener("change", syncPreset);
form.addEventListener("submit", onSubmit);
rollForm.addEventListener("submit", onRoll);
disableForm.addEventListener("submit", onDisable);
revokeForm.addEventListener("submit", (ev) => confirmed(ev, revoking, () => revoking, revokeSubmit,
  (k) => api("POST", `/api/v1/api-keys/${k.id}/revoke`),
  (k) => `API key \u201c${k.name}\u201d (${k.prefix}\u2026) revoked: it gets 401 from now on.`, "delete"));
deleteForm.addEventListener("submit", (ev) => confirmed(ev, deleting, () => deleting, deleteSubmit,
  (k) => api("DELETE", `/api/v1/api-keys/${k.id}`),
  (k) => `API key \u201c${k.name}\u201d (${k.prefix}\u2026) deleted.`, "delete"));
// While a change is under way the dialog stays: its close buttons do nothing (seen before
// openDialog's own [data-close] handler, which listens on the dialog while bubbling).
dialog.addEventListener("click", (ev) => {
  if (inFlight && ev.target.closest("[data-close]")) {
    ev.preventDefault();
    ev.stopImmediatePropagation();
  }
}, true);
$("key-discard-back").addEventListener("click", () => { askToDiscard(false); name.focus(); });
$("key-discard-close").addEventListener("click", () => dialog.close("cancel"));
copyBtn.addEventListener("click", onCopy);
/** Close the one-time key: the key leaves the page now, not a task later with "close". */
function closeKey() {
  keyValue.textContent = "";
  dialog.close("done");
}

$("key-ok").addEventListener("click", closeKey);
// Once the key is on the clipboard there is nothing to lose: closing does not ask.
$("key-created-close").addEventListener("click", () => (copied ? closeKey() : closeRequested()));
$("key-leave-back").addEventListener("click", () => { askToLeave(false); copyBtn.focus(); });
$("key-leave-close").addEventListener("click", closeKey);
// Escape: the browser would close the dialog at once; while the key is shown it asks instead.
// A filled Create/Edit form asks before Esc throws it away.
dialog.addEventListener("keydown", (ev) => {
  if (ev.key !== "Escape") return;
  if (inFlight) {
    ev.preventDefault(); // a change is under way: the dialog stays until it is done
    ev.stopPropagation();
  } else if (keyShown() && !copied) {
    ev.preventDefault();
    ev.stopPropagation();
    closeRequested();
  } else if (formTouched()) {
    ev.preventDefault();
    ev.stopPropagation();
    if (discard.hidden) askToDiscard(true);
    else { askToDiscard(false); name.focus(); }
  }
});
dialog.addEventListener("cancel", (ev) => {
  if (inFlight) {
    ev.preventDefault();
  } else if (keyShown() && !copied) {
    ev.preventDefault();
    if (leave.hidden) askToLeave(true);
  } else if (formTouched()) {
    ev.preventDefault();
    if (discard.hidden) askToDiscard(true);
  } else if (keyShown()) {
    keyValue.textContent = ""; // copied: Esc closes, and the key goes with it at once
  }
});
// A click on the backdrop (outside the dialog's box) while the key is shown asks too.
dialog.addEventListener("click", (ev) => {
  if (ev.target !== dialog || !keyShown()) return;
  const r = dialog.getBoundingClientRect();
  const outside = ev.clientX < r.left || ev.clientX > r.right || ev.clientY < r.top || ev.clientY > r.bottom;
  if (outside && copied) closeKey();
  else if (outside) askToLeave(true);
});
// However the modal closes, the key leaves the page.
dialog.addEventListener("close", () => {
  keyValue.textContent = "";
  created.hidden = true;
  askToLeave(false);
  rollSection.hidden = true;
  rolling = null;
  disableSection.hidden = true;
  disabling = null;
  revokeSection.hidden = true;
  revoking = null;
  deleteSection.hidden = true;
  deleting = null;
  askToDiscard(false);
  opened = "";
  copied = false;
  form.hidden = false;
});

syncToggles();
loadDomains();
load();
