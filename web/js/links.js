// Links: search + pagination, create/edit/delete in a modal, copy short URL, and CSV import
// (a dialog with the columns, an example and the result) and export (a download link that
// follows the search and filters). The search, the Domain and Tag filters and the page live
// in the address (?search=&domain=&tag=&offset=), so a reload or a shared address shows the
// same links.
import { COPY_BY_HAND, announce, api, apiAll, capitalized, clearErrors, copyText, el, fieldError, fieldWords, fromLocalInput, openDialog, plural, sentence, showProblem, timeEl, toLocalInput } from "./common.js";

const $ = (id) => document.getElementById(id);
const PAGE = 20;

const body = $("links-body");
const status = $("links-status");
const search = $("links-search");
const q = $("links-q");
const domainFilter = $("links-domain");
const tagFilter = $("links-tag");
const prev = $("links-prev");
const next = $("links-next");
const range = $("links-range");
const dialog = $("link-dialog");
const form = $("link-form");
const title = $("link-dialog-title");
const submit = $("link-submit");
const f = {
  domain: $("link-domain"), destination: $("link-destination"), slug: $("link-slug"),
  title: $("link-title"), tags: $("link-tags"), code: $("link-code"), expires: $("link-expires"),
};

const params = new URLSearchParams(location.search);
let offset = Math.max(0, Number(params.get("offset")) || 0);
q.value = params.get("search") || "";
tagFilter.value = params.get("tag") || "";
// The address's domain, chosen once the domains are loaded (the select has no options before).
let wantedDomain = params.get("domain") || "";
let links = [];
let editing = null;
let busy = false;

// The role may only read links: rows get no Edit or Delete (the page says why).
const readOnly = "readOnly" in $("links-rows").dataset;

/** Only http(s) addresses become links; anything else is shown as text. */
const safeHref = (u) => (/^https?:\/\//i.test(u) ? u : null);

function row(l) {
  const copy = el("button", { type: "button", text: "Copy", "data-action": "copy", "aria-label": `Copy ${l.short_url}` });
  return el("tr", { "data-id": String(l.id) },
    el("td", { "data-label": "Short URL" }, el("span", { class: "short-url" }, el("a", { href: safeHref(l.short_url), text: l.short_url, rel: "noopener", target: "_blank" }), copy)),
    el("td", { class: "wrap dest", "data-label": "Destination" }, el("a", { href: safeHref(l.destination_url), text: l.destination_url, title: l.destination_url, rel: "noopener noreferrer", target: "_blank" })),
    el("td", { class: "wrap link-title", "data-label": "Title", "data-empty": !l.title }, l.title || null),
    el("td", { class: "tags", "data-label": "Tags", "data-empty": !(l.tags || []).length }, (l.tags || []).map((t) => el("span", { class: "badge", text: t }))),
    el("td", { class: "clicks", "data-label": "Clicks" }, el("a", { href: `/ui/links/${l.id}/stats`, text: String(l.clicks), "aria-label": `${l.clicks} clicks: stats for ${l.short_url}` })),
    el("td", { class: "created", "data-label": "Created" }, timeEl(l.created_at)),
    el("td", { class: "actions", "data-label": "Actions" },
      readOnly ? null : [
        el("button", { type: "button", text: "Edit", "data-action": "edit", "aria-label": `Edit ${l.short_url}` }),
        el("button", { type: "button", class: "danger", text: "Delete", "data-action": "delete", "aria-label": `Delete ${l.short_url}` })]));
}

/** The search and filters as query parameters, the same for the list, the export and the address. */
function filters() {
  const p = new URLSearchParams();
  if (q.value.trim()) p.set("search", q.value.trim());
  if (domainFilter.value) p.set("domain", domainFilter.value);
  if (tagFilter.value.trim()) p.set("tag", tagFilter.value.trim());
  return p;
}

async function load() {
  const p = filters();
  p.set("limit", String(PAGE));
  p.set("offset", String(offset));
  syncExport();
  try {
    const page = await api("GET", `/api/v1/links?${p}`);
    if (page.items.length === 0 && offset > 0 && page.total > 0) {
      offset = Math.max(0, Math.floor((page.total - 1) / PAGE) * PAGE);
      return load();
    }
    links = page.items;
    body.replaceChildren();
    if (!links.length) {
      const filtered = filters().size > 0;
      body.append(el("tr", { class: "empty" }, el("td", { colspan: "7", text: filtered ? "No links match." : "No links yet. Create one with \"Create Link\"." })));
    }
    for (const l of links) body.append(row(l));
    range.textContent = page.total ? `${offset + 1}–${offset + links.length} of ${page.total}` : "0 links";
    prev.disabled = offset === 0;
    next.disabled = offset + links.length >= page.total;
    const url = new URL(location.href);
    url.search = "";
    for (const [k, v] of filters()) url.searchParams.set(k, v);
    if (offset) url.searchParams.set("offset", String(offset));
    history.replaceState(null, "", url);
  } catch (e) {
    announce(status, `Could not load the links: ${e.message}`, true);
  }
}

async function loadDomains() {
  try {
    const list = await apiAll("/api/v1/domains");
    f.domain.replaceChildren(...list.map((d) => el("option", { value: d.hostname, text: d.hostname })));
    importDomain.replaceChildren(importDomain.options[0], ...list.map((d) => el("option", { value: d.hostname, text: d.hostname })));
    const chosen = wantedDomain ?? domainFilter.value;
    wantedDomain = null;
    domainFilter.replaceChildren(el("option", { value: "", text: "All domains" }), ...list.map((d) => el("option", { value: d.hostname, text: d.hostname })));
    // The address's domain at first, then the one chosen; "All domains" if it is gone.
    domainFilter.value = list.some((d) => d.hostname === chosen) ? chosen : "";
    $("links-no-domains").hidden = list.length > 0;
    // A button the role may not use (data-denied, reason beside it) stays disabled.
    for (const id of ["create-link", "import-csv"]) {
      const b = $(id);
      b.disabled = list.length === 0 || "denied" in b.dataset;
    }
  } catch (e) {
    announce(status, `Could not load the domains: ${e.message}`, true);
  }
}

function openCreate() {
  editing = null;
  form.reset();
  clearErrors(form);
  resetHints();
  title.textContent = "Create Link";
  submit.textContent = "Create Link";
  if (domainFilter.value) f.domain.value = domainFilter.value;
  openDialog(dialog, f.destination);
}

function openEdit(l) {
  editing = l;
  form.reset();
  clearErrors(form);
  title.textContent = "Edit Link";
  submit.textContent = "Update Link";
  f.domain.value = l.domain;
  f.destination.value = l.destination_url;
  f.slug.value = l.slug;
  f.title.value = l.title || "";
  f.tags.value = (l.tags || []).join(", ");
  f.code.value = String(l.redirect_code);
  f.expires.value = toLocalInput(l.expires_at);
  resetHints();
  openDialog(dialog, f.destination);
}

// ---- the form's hints: a destination without a scheme, a slug that ends a short URL --------

const offer = $("link-destination-offer");
const offerText = $("link-destination-offer-text");
const fix = $("link-destination-fix");
const slugWarning = $("link-slug-warning");

/**
 * The https:// address a destination typed without a scheme most likely means
 * ("example.com/page" → "https://example.com/page"), or null when it has a scheme or does not
 * start like a host name. The server stays strict; this only offers the fix.
 */
function withHttps(raw) {
  const v = raw.trim();
  // A scheme ("mailto:", "ftp:") is the server's to judge; "host:8080" is not a scheme.
  if (!v || (/^[a-z][a-z0-9+.-]*:/i.test(v) && !/^[^:/]+:\d/.test(v))) return null;
  const bare = v.replace(/^\/\//, "");
  return /^[^\s/?#.]+(\.[^\s/?#.]+)+(:\d+)?([/?#]\S*)?$/.test(bare) || /^localhost(:\d+)?([/?#]\S*)?$/i.test(bare)
    ? `https://${bare}` : null;
}

function showOffer() {
  const fixed = withHttps(f.destination.value);
  offer.hidden = !fixed;
  if (!fixed) return null;
  offerText.textContent = "This address has no http:// or https://.";
  fix.textContent = `Use ${fixed}`;
  fix.dataset.value = fixed;
  return fixed;
}

/** While editing: the short URL that stops working when the slug or the domain changes. */
function showSlugWarning() {
  const slug = f.slug.value.trim();
  const moved = editing && ((slug && slug !== editing.slug) || f.domain.value !== editing.domain);
  const text = moved
    ? `${editing.short_url} will stop working once you save: anyone who opens it gets “not found”. Update the places that link to it.`
    : "";
  if (slugWarning.textContent !== text) slugWarning.textContent = text; // a live region: say it once
}

function resetHints() {
  offer.hidden = true;
  slugWarning.textContent = "";
}

// Offered while typing, not on leaving the field: a hint that appeared on blur would move the
// buttons under a pointer on its way to "Create Link".
f.destination.addEventListener("input", showOffer);
fix.addEventListener("click", () => {
  f.destination.value = fix.dataset.value;
  offer.hidden = true;
  f.destination.dispatchEvent(new Event("input", { bubbles: true })); // clears its error
  f.destination.focus();
});
f.slug.addEventListener("input", showSlugWarning);
f.domain.addEventListener("change", showSlugWarning);

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  if (busy) return;
  clearErrors(form);
  const payload = {
    domain: f.domain.value,
    destination_url: f.destination.value.trim(),
    title: f.title.value.trim() || null,
    tags: f.tags.value.split(",").map((t) => t.trim()).filter(Boolean),
    redirect_code: Number(f.code.value),
    expires_at: f.expires.value ? fromLocalInput(f.expires.value) : null,
  };
  if (f.slug.value.trim()) payload.slug = f.slug.value.trim();
  if (!payload.destination_url) {
    fieldError(form, "destination_url", "Enter the address to redirect to, e.g. https://example.com/page.");
    f.destination.focus();
    return;
  }
  // No scheme: the server would refuse it; say so here and offer the fix, one click away.
  if (showOffer()) {
    fieldError(form, "destination_url", "Start the address with https:// or http://.");
    fix.focus();
    return;
  }
  if (!editing && payload.title === null) delete payload.title;
  busy = true;
  submit.disabled = true;
  try {
    if (editing) {
      const l = await api("PUT", `/api/v1/links/${editing.id}`, payload);
      announce(status, `Link ${l.short_url} updated.`);
    } else {
      const l = await api("POST", "/api/v1/links", payload);
      announce(status, `Link ${l.short_url} created.`);
      offset = 0;
    }
    dialog.close("done");
    await load();
  } catch (e) {
    showProblem(form, e, (x) => {
      if (x.field === "tags" && x.index !== undefined) {
        return { field: "tags", subject: `Tag ${x.index + 1}`, message: x.message.replace("must each be", "must be") };
      }
      if (x.field === "domain" && e.status === 404) return { field: "domain", message: x.message };
      return x;
    });
    if (e.status === 409 && !(e.problem.errors || []).length) {
      clearErrors(form);
      fieldError(form, "slug", capitalized(e.message));
      f.slug.focus();
    }
  } finally {
    busy = false;
    submit.disabled = false;
  }
});

// ---- CSV import and export ------------------------------------------------------------

const importDialog = $("import-dialog");
const importForm = $("import-form");
const importFile = $("import-file");
const importDomain = $("import-domain");
const importSubmit = $("import-submit");
const exportLink = $("export-csv");

/** "Export CSV" downloads the links the list shows: the same search and filters, every page. */
function syncExport() {
  if (exportLink.tagName !== "A") return; // the role may not export: a disabled button
  const p = filters();
  exportLink.href = p.size ? `/api/v1/links/export?${p}` : "/api/v1/links/export";
  exportLink.title = p.size ? "Download the links that match the search and filters as CSV" : "Download every link as CSV";
}

function resetImport() {
  importForm.reset();
  clearErrors(importForm);
  if (domainFilter.value) importDomain.value = domainFilter.value;
  $("import-choose").hidden = false;
  $("import-result").hidden = true;
  importSubmit.hidden = false;
  $("import-again").hidden = true;
  $("import-cancel").textContent = "Cancel";
}

function openImport() {
  resetImport();
  openDialog(importDialog, importFile);
}

/**
 * A row error from the server as sentences: "destination_url: must be ...; title: must ..."
 * names each field in words.
 */
function rowReason(message) {
  return String(message || "")
    .split(/; (?=[a-z_][a-z_0-9.[\]]*: )/)
    .map((part) => {
      const m = /^([a-z_][a-z_0-9.[\]]*): (.*)$/s.exec(part);
      return m ? sentence(fieldWords(m[1]), m[2]) : sentence("", part);
    })
    .join(" ");
}

function showImportResult(r) {
  const errors = Array.isArray(r.errors) ? r.errors : [];
  $("import-counts").replaceChildren(
    el("li", { "data-count": "created" }, el("strong", { text: String(r.created) }), ` ${r.created === 1 ? "link" : "links"} created`),
    el("li", { "data-count": "skipped" }, el("strong", { text: String(r.skipped) }), ` skipped (the slug was already taken)`),
    // Failures are not a success: in the error style, never in the success green.
    el("li", { "data-count": "failed", class: r.failed ? "import-failed" : null },
      el("strong", { text: String(r.failed) }), ` ${r.failed === 1 ? "row" : "rows"} failed`));
  // `row` is the spreadsheet row (the header is row 1), the number people find in Excel.
  $("import-errors").replaceChildren(...errors.map((e) =>
    el("li", { "data-row": String(e.row) }, el("strong", { text: `Row ${e.row}: ` }), rowReason(e.message))));
  // The server lists the first rows only; `errors_truncated` counts the rest.
  const more = Number.isInteger(r.errors_truncated) ? r.errors_truncated : Math.max(0, r.failed - errors.length);
  $("import-more").textContent = more ? `… and ${plural(more, "more row", "more rows")} that failed.` : "";
  $("import-more").hidden = !more;
  $("import-failures").hidden = !errors.length && !more;
  $("import-choose").hidden = true;
  $("import-result").hidden = false;
  importSubmit.hidden = true;
  $("import-again").hidden = false;
  $("import-cancel").textContent = "Close";
  $("import-result-title").focus();
}

async function onImport(ev) {
  ev.preventDefault();
  if (busy) return;
  clearErrors(importForm);
  const file = importFile.files && importFile.files[0];
  if (!file) {
    fieldError(importForm, "file", "Choose a CSV file to import.");
    importFile.focus();
    return;
  }
  const data = new FormData();
  data.append("file", file, file.name);
  const q = importDomain.value ? `?domain=${encodeURIComponent(importDomain.value)}` : "";
  busy = true;
  importSubmit.disabled = true;
  importSubmit.textContent = "Importing…";
  try {
    const report = await api("POST", `/api/v1/links/import${q}`, data);
    showImportResult(report);
    // With failed rows the message is an error, so it is not shown in the success green.
    announce(status, `Import finished: ${plural(report.created, "link", "links")} created, ${report.skipped} skipped, ${report.failed} failed.`,
      report.failed > 0);
    offset = 0;
    await Promise.all([load(), loadDomains()]);
  } catch (e) {
    showProblem(importForm, e);
  } finally {
    busy = false;
    importSubmit.disabled = false;
    importSubmit.textContent = "Import";
  }
}

body.addEventListener("click", async (ev) => {
  const btn = ev.target.closest("button[data-action]");
  if (!btn) return;
  const l = links.find((x) => String(x.id) === btn.closest("tr").dataset.id);
  if (!l) return;
  if (btn.dataset.action === "copy") {
    const ok = await copyText(l.short_url, btn);
    announce(status, ok ? `Copied ${l.short_url} to the clipboard.` : COPY_BY_HAND, !ok);
  } else if (btn.dataset.action === "edit") {
    openEdit(l);
  } else if (btn.dataset.action === "delete") {
    if (!window.confirm(`Delete the link ${l.short_url}?\n\nIt stops redirecting immediately.`)) return;
    try {
      await api("DELETE", `/api/v1/links/${l.id}`);
      announce(status, `Link ${l.short_url} deleted.`);
      await load();
    } catch (e) {
      announce(status, `Could not delete ${l.short_url}: ${e.message}`, true);
    }
  }
});

search.addEventListener("submit", (ev) => { ev.preventDefault(); offset = 0; load(); });
domainFilter.addEventListener("change", () => { offset = 0; load(); });
let timer = null;
for (const input of [q, tagFilter]) {
  input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => { offset = 0; load(); }, 250); });
}
prev.addEventListener("click", () => { offset = Math.max(0, offset - PAGE); load(); });
next.addEventListener("click", () => { offset += PAGE; load(); });
$("create-link").addEventListener("click", openCreate);

$("import-csv").addEventListener("click", openImport);
importForm.addEventListener("submit", onImport);
$("import-again").addEventListener("click", () => { resetImport(); importFile.focus(); });

loadDomains().then(load);
