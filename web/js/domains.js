// Domains: list, add, and delete through one dialog that says what blocks the deletion.
import { announce, api, apiAll, capitalized, clearErrors, el, fieldError, openDialog, plural, showProblem, timeEl } from "./common.js";

const $ = (id) => document.getElementById(id);

const body = $("domains-body");
const status = $("domains-status");
const form = $("domain-form");
const hostname = $("domain-hostname");
const add = $("domain-add");
let domains = [];
// Set by the page when the role may not change domains (the reason is shown beside the form).
const denied = form.dataset.denied || "";

const cleaned = $("domain-hostname-cleaned");

/**
 * The host name in what was typed or pasted: "https://Go.Example.com:443/x?y" →
 * "Go.Example.com" (the server lower-cases it). The API takes a host name only and stays
 * strict; the form cuts an address down before sending and says so.
 */
function hostOf(raw) {
  return raw.trim()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, "") // scheme
    .replace(/^\/\//, "")
    .replace(/[/?#].*$/s, "") // path, query, fragment
    .replace(/^[^@]*@/, "") // user:password@
    .replace(/:\d*$/, ""); // port
}

/** Put the host name alone in the field and say so (the note stays until the next edit). */
function cleanHostname() {
  const typed = hostname.value.trim();
  const host = hostOf(typed);
  if (host && host !== typed) {
    hostname.value = host;
    cleaned.textContent = `Cleaned to ${host}: a domain is its host name alone, without https:// or a path.`;
  }
}

hostname.addEventListener("blur", cleanHostname);
hostname.addEventListener("input", () => { cleaned.textContent = ""; });

function row(d) {
  const readOnly = d.source === "config";
  return el("tr", { "data-id": String(d.id), "data-hostname": d.hostname },
    el("td", { "data-label": "Hostname" }, el("strong", { text: d.hostname })),
    el("td", { "data-label": "Links" }, String(d.link_count)),
    el("td", { "data-label": "Source" }, readOnly ? el("span", { class: "badge muted", text: "From config file" }) : "Added here"),
    el("td", { "data-label": "Added" }, timeEl(d.created_at)),
    el("td", { class: "actions", "data-label": "Actions" },
      readOnly
        ? el("span", { class: "hint", text: "read-only: edit the config file" })
        : denied
        ? el("span", { class: "hint", text: "read-only for your role" })
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
  cleanHostname();
  if (!hostname.value.trim()) {
    fieldError(form, "hostname", "Enter a hostname, e.g. go.example.com.");
    hostname.focus();
    return;
  }
  add.disabled = true;
  try {
    const d = await api("POST", "/api/v1/domains", { hostname: hostname.value.trim() });
    hostname.value = "";
    cleaned.textContent = ""; // the note was about what the field held: it goes with it
    announce(status, `Domain ${d.hostname} added.`);
    await load();
  } catch (e) {
    if (e.status === 409 && !(e.problem.errors || []).length) {
      fieldError(form, "hostname", capitalized(e.message));
      hostname.focus();
    } else {
      showProblem(form, e);
    }
  } finally {
    add.disabled = false;
  }
});

// ---- deleting: one dialog that says what blocks it and offers what can succeed ----------

const dialog = $("domain-delete");
const explain = $("domain-delete-explain");
const keyList = $("domain-delete-keys");
const keysLink = $("domain-delete-keys-link");
const withLinks = $("domain-delete-links");
const only = $("domain-delete-only");
const deleteError = $("domain-delete-error");
let pending = null; // the domain the dialog is about

/**
 * What stands in the way of deleting `d`, from fresh data: its links and the keys scoped to it.
 * Keys come with their prefix and their roll: a rolled key and its successor share a name.
 */
async function obstacles(d) {
  const [fresh, keys] = await Promise.all([api("GET", `/api/v1/domains/${d.id}`), apiAll("/api/v1/api-keys")]);
  const prefixOf = (id) => { const o = keys.find((k) => k.id === id); return o ? `${o.prefix}\u2026` : null; };
  const scoped = keys.filter((k) => (k.domains || []).includes(fresh.hostname)).map((k) => ({
    name: k.name,
    prefix: `${k.prefix}\u2026`,
    status: k.status,
    successor: k.rotated_to !== null && k.rotated_to !== undefined ? prefixOf(k.rotated_to) : null,
    predecessor: k.rotated_from !== null && k.rotated_from !== undefined ? prefixOf(k.rotated_from) : null,
  }));
  return { domain: fresh, keys: scoped.sort((a, b) => a.name.localeCompare(b.name) || a.prefix.localeCompare(b.prefix)) };
}

/** "“CI”", or "“CI” (ldk_abc…)" when another key in the list has the same name. */
function keyLabel(k, all) {
  return all.filter((o) => o.name === k.name).length > 1 ? `\u201c${k.name}\u201d (${k.prefix})` : `\u201c${k.name}\u201d`;
}

/** One key in the dialog's list: its name, its prefix, and which side of a roll it is. */
function keyItem(k) {
  const notes = [];
  if (k.successor) notes.push(["rolled, replaced by ", k.successor]);
  if (k.predecessor) notes.push(["replaces ", k.predecessor]);
  if (k.status !== "active") notes.push([k.status]);
  return el("li", { "data-prefix": k.prefix },
    k.name, " ", el("code", { class: "key-prefix", text: k.prefix }),
    notes.length ? el("span", { class: "hint" }, " (", notes.flatMap(([words, prefix], i) =>
      [i ? "; " : "", words, prefix ? el("code", { text: prefix }) : null]), ")") : null);
}

async function openDelete(d) {
  let found;
  try {
    found = await obstacles(d);
  } catch (e) {
    announce(status, `Could not check ${d.hostname}: ${e.message}`, true);
    return;
  }
  pending = found.domain;
  const host = pending.hostname;
  const links = pending.link_count;
  $("domain-delete-title").textContent = `Delete ${host}?`;
  deleteError.hidden = true;
  const lines = [];
  if (found.keys.length) {
    const labels = found.keys.map((k) => keyLabel(k, found.keys));
    const names = labels.length > 1 ? `${labels.slice(0, -1).join(", ")} and ${labels[labels.length - 1]}` : labels.join("");
    const who = found.keys.length === 1 ? `the API key ${names} is` : `the API keys ${names} are`;
    lines.push(`${host} cannot be deleted: ${who} scoped to it. Change ${found.keys.length === 1 ? "its" : "their"} Domain Scope on the API Keys page first, then delete the domain.`);
    if (links) lines.push(`It also has ${plural(links, "link", "links")}, which would be deleted with it.`);
  } else if (links) {
    lines.push(`${host} still has ${plural(links, "link", "links")}. Deleting the domain deletes ${links === 1 ? "it" : "them"} too: ${links === 1 ? "it stops" : "they stop"} redirecting at once. This cannot be undone.`);
  } else {
    lines.push(`${host} has no links and no API key is scoped to it. Deleting it cannot be undone.`);
  }
  keyList.replaceChildren(...found.keys.map(keyItem));
  keyList.hidden = !found.keys.length;
  const [first, ...rest] = lines.map((text) => el("p", { text }));
  explain.replaceChildren(first, keyList, ...rest); // the keys right under the sentence naming them
  keysLink.hidden = !found.keys.length;
  withLinks.hidden = !!found.keys.length || !links;
  only.hidden = !!found.keys.length || !!links;
  const action = [keysLink, withLinks, only].find((b) => !b.hidden);
  openDialog(dialog, action);
}

async function remove(force) {
  const d = pending;
  if (!d) return;
  try {
    await api("DELETE", `/api/v1/domains/${d.id}${force ? "?force=true" : ""}`);
    dialog.close("done");
    announce(status, force ? `Domain ${d.hostname} and its links deleted.` : `Domain ${d.hostname} deleted.`);
    await load();
  } catch (e) {
    // Something changed since the dialog opened (a new link, a newly scoped key): say so.
    deleteError.textContent = `${d.hostname} was not deleted. ${capitalized(e.message)}`;
    deleteError.hidden = false;
  }
}

body.addEventListener("click", (ev) => {
  const btn = ev.target.closest("button[data-action=delete]");
  if (!btn) return;
  const d = domains.find((x) => String(x.id) === btn.closest("tr").dataset.id);
  if (d) openDelete(d);
});
withLinks.addEventListener("click", () => remove(true));
only.addEventListener("click", () => remove(false));

load();
