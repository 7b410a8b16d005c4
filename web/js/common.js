// Shared helpers for the management UI, imported by each page's module: every API call (fetch,
// the session's CSRF token or a pasted key), problem+json → inline field errors, <dialog> modals
// with focus handling, DOM building without innerHTML, clipboard, live-region announcements.

// The only place that reads the CSRF token.
const csrf = () => {
  const m = document.querySelector('meta[name="csrf-token"]');
  return m ? m.getAttribute("content") : "";
};

/** Whether a request with the session must carry the CSRF token. */
export const sendsCsrf = (method) => !["GET", "HEAD", "OPTIONS"].includes(String(method).toUpperCase());

/** The headers a request with the session adds: the CSRF token on unsafe methods. */
export const sessionHeaders = (method) => (sendsCsrf(method) ? { "X-CSRF-Token": csrf() } : {});

/** An API failure: HTTP status plus the problem+json document (or a made-up one). */
export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `request failed (${status})`);
    this.status = status;
    this.problem = problem || {};
  }
}

/**
 * Send one request and report what came back; never throws and never redirects. `opts`:
 *   key     an API key: sent as `Authorization: Bearer <key>` and without cookies, so the key
 *           alone judges the request; without it the session cookie goes, plus the CSRF token
 *           on unsafe methods;
 *   headers more request headers; `Accept: application/json` unless given;
 *   body    a string or FormData, sent as is (`json` instead: serialised, with its content type);
 *   cache   the fetch cache mode.
 * Resolves to {status, statusText, type, headers, text, duration (ms)}; status 0 and `error`
 * when the server could not be reached.
 */
export async function request(method, url, opts) {
  opts = opts || {};
  const headers = Object.assign({ Accept: "application/json" }, opts.headers || {});
  const init = { method, headers };
  if (opts.cache) init.cache = opts.cache;
  if (opts.key) {
    headers.Authorization = `Bearer ${opts.key}`;
    init.credentials = "omit";
  } else {
    init.credentials = "same-origin";
    Object.assign(headers, sessionHeaders(method));
  }
  if (opts.json !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(opts.json);
  } else if (opts.body !== undefined && opts.body !== null) {
    init.body = opts.body;
  }
  const started = performance.now();
  const took = () => Math.max(0, Math.round(performance.now() - started));
  try {
    const res = await fetch(url, init);
    const text = await res.text();
    return {
      status: res.status,
      statusText: res.statusText,
      type: res.headers.get("content-type") || "",
      headers: res.headers,
      text,
      duration: took(),
    };
  } catch (error) {
    return { status: 0, statusText: "", type: "", headers: new Headers(), text: "", duration: took(), error };
  }
}

/** A response body as JSON: null when empty, {detail: text} when it is not JSON. */
export function parseBody(text) {
  if (!text) return null;
  try { return JSON.parse(text); } catch (_) { return { detail: text }; }
}

/**
 * Call the API as the signed-in user with a JSON body, or a FormData (multipart upload).
 * Resolves to the JSON body (null when empty).
 */
export async function api(method, path, body) {
  const res = await request(method, path, body instanceof FormData ? { body } : { json: body });
  if (res.status === 0) {
    throw new ApiError(0, { title: "Network error", detail: "the server could not be reached; check your connection and try again" });
  }
  const data = parseBody(res.text);
  if (res.status === 401 && !path.startsWith("/api/v1/session")) {
    // The session ended: go to the sign-in page and come back here afterwards.
    const next = encodeURIComponent(location.pathname + location.search);
    location.assign(`/ui/login?next=${next}`);
  }
  if (!(res.status >= 200 && res.status < 300)) throw new ApiError(res.status, data);
  return data;
}

/** GET a document (openapi.json, llms.txt) as text, fresh; throws an Error when that fails. */
export async function getText(url) {
  const res = await request("GET", url, { cache: "no-store", headers: { Accept: "*/*" } });
  if (res.status === 0) throw new Error("the server could not be reached");
  if (res.status < 200 || res.status > 299) throw new Error(`${url} answered ${res.status}`);
  return res.text;
}

/** Every page of a list endpoint (limit 100 each). */
export async function apiAll(path) {
  const items = [];
  const sep = path.includes("?") ? "&" : "?";
  for (let offset = 0; ; offset += 100) {
    const page = await api("GET", `${path}${sep}limit=100&offset=${offset}`);
    items.push(...page.items);
    if (items.length >= page.total || page.items.length === 0) return items;
  }
}

/** Build an element: el("td", {class: "x", text: "..."}, child, ...). Never parses HTML. */
export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") e.textContent = v;
    else if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k in e && typeof v !== "string") e[k] = v;
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

/**
 * The small Markdown of OpenAPI descriptions as DOM, never via innerHTML: paragraphs (blank
 * lines), "- " lists, `code`, **strong**, *emphasis* and [links](https://...). Anything else
 * stays as the text it is.
 */
export function richText(text) {
  const out = document.createDocumentFragment();
  const blocks = String(text || "").split(/\n\s*\n/).map((b) => b.trim()).filter(Boolean);
  for (const block of blocks) {
    const lines = block.split("\n");
    if (lines.every((l) => /^\s*[-*] /.test(l))) {
      out.append(el("ul", {}, lines.map((l) => el("li", {}, inlineMarkdown(l.replace(/^\s*[-*] /, ""))))));
    } else {
      out.append(el("p", {}, inlineMarkdown(lines.join(" "))));
    }
  }
  return out;
}

/** One line of Markdown: `code`, **strong**, *em*, [text](http(s) URL) as nodes. */
export function inlineMarkdown(text) {
  const nodes = [];
  const pattern = /`([^`]+)`|\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*|\[([^\]]+)\]\((https?:\/\/[^)\s]+|\/[^)\s]*)\)/g;
  let last = 0;
  for (const m of String(text).matchAll(pattern)) {
    if (m.index > last) nodes.push(text.slice(last, m.index));
    if (m[1] !== undefined) nodes.push(el("code", { text: m[1] }));
    else if (m[2] !== undefined) nodes.push(el("strong", { text: m[2] }));
    else if (m[3] !== undefined) nodes.push(el("em", { text: m[3] }));
    else nodes.push(el("a", { href: m[5], text: m[4] }));
    last = m.index + m[0].length;
  }
  if (last < String(text).length) nodes.push(String(text).slice(last));
  return nodes;
}

/** "3 minutes ago"-free absolute local time; "—" for null. */
export function fmtTime(iso) {
  if (!iso) return null;
  const d = new Date(iso);
  if (isNaN(d)) return iso;
  return d.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

// Steps of a relative time: below `under` seconds away, count in `unit`s of `secs` seconds.
const REL_STEPS = [
  { under: 45, unit: "second", secs: 1 },
  { under: 45 * 60, unit: "minute", secs: 60 },
  { under: 22 * 3600, unit: "hour", secs: 3600 },
  { under: 26 * 86400, unit: "day", secs: 86400 },
  { under: 320 * 86400, unit: "month", secs: 30.44 * 86400 },
  { under: Infinity, unit: "year", secs: 365.25 * 86400 },
];

/**
 * How far a time is from now, in the reader's language and words a screen reader reads as
 * they are: "in 20 days", "3 hours ago", "in 1 day", "now". Empty for no time. Always numbers
 * ("in 1 day", not "tomorrow"): the count is of elapsed time, and calendar words would be wrong
 * ("tomorrow" for later today, "next month" for 26 days). Under 45 seconds is "now".
 */
export function relTime(iso, now = Date.now()) {
  if (!iso) return "";
  const d = new Date(iso);
  if (isNaN(d)) return "";
  const secs = (d.getTime() - now) / 1000;
  const step = REL_STEPS.find((s) => Math.abs(secs) < s.under);
  if (step.unit === "second") return new Intl.RelativeTimeFormat(undefined, { numeric: "auto" }).format(0, "second");
  return new Intl.RelativeTimeFormat(undefined, { numeric: "always" }).format(Math.round(secs / step.secs), step.unit);
}

/** A time that matters, in local time with how far it is: "Dec 22, 2026, 10:00 AM (in 20 days)". */
export function fmtWhen(iso) {
  const abs = fmtTime(iso);
  const rel = relTime(iso);
  return abs && rel ? `${abs} (${rel})` : abs;
}

/**
 * A <time class="local"> showing `fmtWhen`; shell.js keeps its relative part current while
 * the page stays open (the same as the times the server writes into pages).
 */
export function timeEl(iso) {
  return el("time", { class: "local", datetime: iso, text: fmtWhen(iso) });
}

/** RFC 3339 (UTC) → the value of an <input type="datetime-local"> in local time. */
export function toLocalInput(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (isNaN(d)) return "";
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** The value of a datetime-local input → RFC 3339 UTC, or null when empty/invalid. */
export function fromLocalInput(value) {
  if (!value) return null;
  const d = new Date(value);
  if (isNaN(d)) return null;
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

// ---- inline errors -------------------------------------------------------------------

/** The API's field names in words, for sentences about them. */
const FIELD_WORDS = {
  name: "The name",
  domains: "The domain scope",
  allow_all_ips: "The IP whitelist",
  ip_whitelist: "The IP whitelist",
  expires_at: "The expiry",
  domain: "The domain",
  destination_url: "The destination URL",
  slug: "The slug",
  title: "The title",
  tags: "The tags",
  redirect_code: "The redirect code",
  hostname: "The hostname",
  file: "The file",
  body: "The request body",
  limit: "The limit",
  offset: "The offset",
  id: "The id",
  username: "The username",
  password: "The password",
};

/** A field name (`ip_whitelist`, `tags[2]`) in words: "The IP whitelist". */
export function fieldWords(field) {
  const base = String(field || "").replace(/\[\d+\]$/, "").split(".").pop();
  return FIELD_WORDS[base] || (base ? `The ${base.replace(/_/g, " ")}` : "");
}

/** A count with its noun: plural(1, "link", "links") → "1 link", plural(3, ...) → "3 links". */
export function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

/** First letter up, a full stop at the end. */
export function capitalized(text) {
  const t = String(text || "").trim();
  if (!t) return t;
  const s = t[0].toUpperCase() + t.slice(1);
  return /[.!?]$/.test(s) ? s : `${s}.`;
}

/**
 * A message about a field as a sentence that names it: ("destination_url", "must be an
 * absolute URL") → "The destination URL must be an absolute URL." A message that stands on
 * its own ("“x” is not an IP address") follows the subject after a colon.
 */
export function sentence(subject, message) {
  const m = String(message || "").trim();
  if (!subject) return capitalized(m);
  if (/^(must|is|are|has|have|cannot|can|should|names|needs)\b/.test(m)) return capitalized(`${subject} ${m}`);
  return capitalized(`${subject}: ${m}`);
}

export function clearErrors(form) {
  form.querySelectorAll("[data-error-for]").forEach((p) => { p.textContent = ""; p.hidden = true; });
  form.querySelectorAll("[aria-invalid]").forEach((c) => c.removeAttribute("aria-invalid"));
  const general = form.querySelector(".form-error");
  if (general) { general.textContent = ""; general.hidden = true; }
}

/** Clear the error of one field (its message and its controls' invalid mark). */
function clearFieldError(p) {
  p.textContent = "";
  p.hidden = true;
  const wrap = p.closest(".field");
  if (wrap) wrap.querySelectorAll("[aria-invalid]").forEach((c) => c.removeAttribute("aria-invalid"));
}

/**
 * Put `message` under the field named `field` (API field name); false if no such field.
 * Several messages for one field stand on separate lines. The error goes away as soon as the
 * field is changed.
 */
export function fieldError(form, field, message) {
  const p = form.querySelector(`[data-error-for="${CSS.escape(field)}"]`);
  if (!p) return false;
  p.textContent = p.textContent ? `${p.textContent}\n${message}` : message;
  p.hidden = false;
  const wrap = p.closest(".field");
  const control = wrap && wrap.querySelector("input, select, textarea");
  if (control) control.setAttribute("aria-invalid", "true");
  if (wrap && !wrap.dataset.clearsError) {
    wrap.dataset.clearsError = "1";
    const clear = () => { if (!p.hidden) clearFieldError(p); };
    wrap.addEventListener("input", clear);
    wrap.addEventListener("change", clear);
  }
  return true;
}

export function generalError(form, message) {
  const general = form.querySelector(".form-error");
  if (general) { general.textContent = message; general.hidden = false; }
  else window.alert(message);
}

/**
 * Show an ApiError inside `form`: each `errors[].field` next to its field, as a sentence that
 * names it in words, one line per error. `mapField({field, index, message})` may return
 * {field, message, subject} to place an error elsewhere or name it better (e.g.
 * "ip_whitelist[2]" → subject "Line 3"). Whatever is not placed goes to the form's general
 * error. Focuses the first invalid field. Nothing typed is touched.
 */
export function showProblem(form, err, mapField) {
  clearErrors(form);
  const problem = (err && err.problem) || {};
  const errors = Array.isArray(problem.errors) ? problem.errors : [];
  const unplaced = [];
  for (const e of errors) {
    let target = { field: String(e.field || ""), message: String(e.message || "is not valid") };
    const m = /^([a-z_]+)\[(\d+)\]$/.exec(target.field);
    if (m) target = { field: m[1], index: Number(m[2]), message: target.message };
    const mapped = (mapField && mapField(target)) || target;
    const text = sentence(mapped.subject || fieldWords(mapped.field), mapped.message);
    if (!fieldError(form, mapped.field, text)) unplaced.push(text);
  }
  if (errors.length === 0) unplaced.push(capitalized(err && err.message ? err.message : "something went wrong"));
  if (unplaced.length) generalError(form, unplaced.join("\n"));
  const first = form.querySelector("[aria-invalid=true]");
  if (first) first.focus();
  else {
    const general = form.querySelector(".form-error");
    if (general && !general.hidden) general.scrollIntoView({ block: "nearest" });
  }
}

// ---- modals --------------------------------------------------------------------------

/**
 * Open a <dialog> as a modal, move focus into it (first field, or `focus`), and give focus
 * back to what had it when the dialog closes. Buttons with [data-close] close it.
 */
export function openDialog(dialog, focus) {
  const opener = document.activeElement;
  if (!dialog.dataset.wired) {
    dialog.dataset.wired = "1";
    dialog.addEventListener("click", (ev) => {
      const closer = ev.target.closest("[data-close]");
      if (closer && dialog.contains(closer)) { ev.preventDefault(); dialog.close("cancel"); }
    });
  }
  dialog.addEventListener("close", () => {
    if (opener && typeof opener.focus === "function" && document.contains(opener)) opener.focus();
  }, { once: true });
  dialog.showModal();
  const target = focus || dialog.querySelector("input:not([type=hidden]):not([disabled]), select, textarea, button:not([data-close])");
  if (target) target.focus();
}

/** What a page says when no way of copying worked (`copyText` left the text selected). */
export const COPY_BY_HAND = "The browser did not let the page copy: the text is selected, press Ctrl+C (\u2318C on a Mac) to copy it.";

/**
 * Copy `text`; resolves true when it is on the clipboard. The Clipboard API exists only in a
 * secure context (https or localhost): over plain http on a LAN name the text is copied from a
 * selected, off-screen textarea instead (execCommand). When that fails too and `after` is
 * given, the text is shown selected in a read-only box after `after`, for Ctrl+C
 * (say COPY_BY_HAND); the box goes with the next copy.
 */
export async function copyText(text, after) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch (_) { /* refused: try the selection */ }
  }
  document.querySelectorAll("textarea.copy-by-hand").forEach((box) => box.remove());
  const box = el("textarea", { class: "copy-by-hand", readonly: "", "aria-label": "Text to copy" });
  box.value = text;
  box.classList.add("offscreen");
  const focused = document.activeElement;
  // Beside the button, not at the end of <body>: outside an open modal dialog is inert.
  const anchor = after || (focused && focused !== document.body ? focused : null);
  (anchor && anchor.parentNode ? anchor.parentNode : document.body).insertBefore(box, anchor ? anchor.nextSibling : null);
  box.select();
  let copied = false;
  try { copied = document.execCommand("copy"); } catch (_) { copied = false; }
  if (copied || !after) {
    box.remove();
    if (focused && typeof focused.focus === "function") focused.focus();
    return copied;
  }
  box.classList.remove("offscreen");
  box.focus();
  box.select();
  return false;
}

/**
 * Announce a message in a polite live region (e.g. "Link deleted."). A success message lasts
 * until the next action (a click or a submit anywhere on the page); an error, or a message
 * announced with `persistent` (a count, a state), stays until replaced.
 */
export function announce(region, message, isError, persistent) {
  if (!region) return;
  region.textContent = message;
  region.classList.toggle("error", !!isError);
  if (message && !isError && !persistent) region.dataset.transient = "1";
  else delete region.dataset.transient;
}

// The next action clears the success messages of the last one; it runs before the action's
// own handlers (capture phase), so whatever that action announces stays.
for (const type of ["click", "submit"]) {
  document.addEventListener(type, () => {
    for (const region of document.querySelectorAll("[data-transient]")) {
      region.textContent = "";
      delete region.dataset.transient;
    }
  }, true);
}

