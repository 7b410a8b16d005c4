// Manual Integration → "API Playground" and "Request History".
//
// Every endpoint comes from /api/openapi.json (read through openapi.js, which loads it once for
// the whole page): nothing here knows a particular endpoint. Requests go from this browser to the
// API through common.js, with `Authorization: Bearer <key>` when a key is pasted (and no cookie,
// so the key alone judges the request) or with the session and its CSRF token otherwise.
//
// The pasted key lives in `state.key` only: never in storage, a URL, the DOM outside its own
// password field, or the history. History entries carry the key's 12-character display prefix.
// A key is checked in this page first (format and checksum, api-key-format.js); only a
// well-formed key is asked about at GET /api/v1/keys/current, and only once. That answer says
// why the server would refuse the key (`denial`: revoked, expired, rotated, the IP it saw,
// the rate limit), and with the chosen endpoint's permission (its `api_key` security roles in
// the document) the page says beside "Send Request" when the key lacks it (sending still
// shows the 403). After each response sent with the key, the key panel follows what the
// response said: the RateLimit fields, or a 401 naming why the key is refused now.
//
// Example bodies carry the user's own domain (the key's first scoped domain, else the first of
// the Domains page), so that the first Send of an untouched example can succeed.
//
// A history entry is loaded into the builder, never sent by itself: only "Send Request" sends.

import { ApiError, COPY_BY_HAND, announce, api, copyText, el, fieldWords, fmtTime, inlineMarkdown, parseBody, request, richText, sendsCsrf, sentence } from "./common.js";
import { checkKeyFormat } from "./api-key-format.js";
import { codeSamples } from "./code-samples.js";
import { fields, loadDocument, operations, parameters, requestBody, resolve, sessionCookieName } from "./openapi.js";
import { curl, env } from "./snippets.js";

const METHODS = new Set(["GET", "PUT", "POST", "DELETE", "PATCH"]);
const PREFIX_LEN = 12;
const BODY_LIMIT = 64 * 1024;
const HISTORY_SHOWN = 100;

const $ = (id) => document.getElementById(id);
const root = $("api-playground");
const keyPrefix = root ? root.dataset.keyPrefix || "ldk" : "ldk";

const ui = {
  key: $("pg-key"),
  keyToggle: $("pg-key-toggle"),
  keyInfo: $("pg-key-info"),
  scopeWarning: $("pg-scope-warning"),
  permissionWarning: $("pg-permission-warning"),
  endpoint: $("pg-endpoint"),
  endpointStatus: $("pg-endpoint-status"),
  builder: $("pg-builder"),
  description: $("pg-endpoint-description"),
  pathSet: $("pg-path-params"),
  querySet: $("pg-query-params"),
  bodyField: $("pg-body-field"),
  body: $("pg-body"),
  bodyError: $("pg-body-error"),
  fileField: $("pg-file-field"),
  file: $("pg-file"),
  fileHint: $("pg-file-hint"),
  previewMethod: $("pg-preview-method"),
  previewUrl: $("pg-preview-url"),
  previewHeaders: $("pg-preview-headers"),
  previewBody: $("pg-preview-body"),
  send: $("pg-send"),
  loaded: $("pg-loaded"),
  code: $("pg-code"),
  authMode: $("pg-auth-mode"),
  response: $("pg-response"),
  status: $("pg-status"),
  duration: $("pg-duration"),
  contentType: $("pg-content-type"),
  copyCurl: $("pg-copy-curl"),
  copyResponse: $("pg-copy-response"),
  copyStatus: $("pg-copy-status"),
  historyNotice: $("pg-history-notice"),
  responseEmpty: $("pg-response-empty"),
  responseBody: $("pg-response-body"),
  responseKey: $("pg-response-key"),
  historyList: $("pg-history-list"),
  historyStatus: $("pg-history-status"),
  clearHistory: $("pg-clear-history"),
};

const state = {
  doc: null,
  ops: [], // { id, method, path, op, params, media, bodyRequired, example }
  current: null,
  key: "", // in memory only
  keyInfo: null, // the keys/current answer about the pasted key, once it is known
  keyChecks: new Map(), // well-formed key → the promise of its GET /api/v1/keys/current answer
  keyLatest: new Map(), // well-formed key → keys/current as corrected by the responses since
  domains: null, // the signed-in user's hostnames, as the Domains page lists them
  example: null, // { source, text }: the example body shown, while the user has not edited it
  bodyValid: true,
  sending: false,
  requests: 0,
  last: null, // the last request sent: currentRequest() plus fileName
  pending: null, // an endpoint asked for before the document was loaded
  loaded: null, // the history entry in the builder, until another endpoint is chosen or it is sent
  samples: null, // the code-samples block of the Request Preview
};

// ---- the OpenAPI document ---------------------------------------------------------------

/** The operation's parameters; a template segment the document forgot still gets an input. */
function parametersOf(doc, o) {
  const out = parameters(doc, o);
  for (const m of o.path.matchAll(/\{([^}]+)\}/g)) {
    if (!out.some((q) => q.in === "path" && q.name === m[1])) out.push({ name: m[1], in: "path", required: true, schema: { type: "string" } });
  }
  return out;
}

function loadOperations(doc) {
  return operations(doc)
    .filter((o) => METHODS.has(o.method.toUpperCase()))
    .map((o) => {
      const method = o.method.toUpperCase();
      const body = requestBody(doc, o.op);
      return {
        id: `${method} ${o.path}`,
        method,
        path: o.path,
        op: o.op,
        tag: (o.op.tags || ["Other"])[0],
        params: parametersOf(doc, o),
        media: body ? body.media : null,
        bodyRequired: body ? body.required : false,
        example: body ? body.example : undefined,
        bodySchema: body ? body.schema : null,
      };
    });
}

function fillEndpointSelect(doc) {
  const tags = (doc.tags || []).map((t) => t.name);
  for (const o of state.ops) if (!tags.includes(o.tag)) tags.push(o.tag);
  ui.endpoint.replaceChildren(el("option", { value: "", text: "Choose an endpoint…" }));
  for (const tag of tags) {
    const mine = state.ops.filter((o) => o.tag === tag);
    if (!mine.length) continue;
    ui.endpoint.append(el("optgroup", { label: tag },
      mine.map((o) => el("option", { value: o.id, text: o.op.summary ? `${o.id} — ${o.op.summary}` : o.id }))));
  }
  ui.endpoint.disabled = false;
  announce(ui.endpointStatus, `${state.ops.length} endpoints in ${tags.length} groups.`, false, true);
}

// ---- the API key --------------------------------------------------------------------------

const masked = (key) => `${key.slice(0, PREFIX_LEN)}…`;

function describeAuth() {
  if (state.key) {
    ui.authMode.textContent = `Sent with the API key ${masked(state.key)} (your session cookie is not sent).`;
  } else {
    ui.authMode.textContent = "Sent with your session: no API key is pasted.";
  }
  describeLoaded();
}

function keyDetails(k) {
  const row = (term, value) => [el("dt", { text: term }), el("dd", {}, value)];
  const ip = k.allow_all_ips ? "All IP addresses" : (k.ip_whitelist || []).join(", ") || "No address";
  const scope = (k.domains || []).length ? k.domains.join(", ") : "All domains";
  const perms = k.permissions || [];
  const rl = k.rate_limit;
  const seen = k.client_ip
    ? `${k.client_ip} (the address the server saw): ${k.ip_allowed ? "allowed" : "not allowed by this key's IP rule"}`
    : null;
  return el("dl", { class: "pg-key-details" },
    row("Name", k.name),
    row("Prefix", el("code", { text: `${k.prefix}…` })),
    row("Status", el("span", { class: `badge status-${k.status}`, text: k.status })),
    row("Expires", k.expires_at ? fmtTime(k.expires_at) : "Never"),
    row("IP rule", ip),
    seen ? row("Your address", seen) : null,
    row("Domain scope", scope),
    row("Permissions", isEveryPermission(perms) ? "Full access" : el("span", {}, perms.flatMap((p, i) => [i ? ", " : "", el("code", { text: p })]))),
    row("Rate limit", rl ? `${rl.remaining} of ${rl.limit} requests left this minute (resets in ${rl.reset} s)` : "No limit"));
}

/** Whether `perms` holds every permission the document's `Permission` schema lists. */
function isEveryPermission(perms) {
  const schemas = (state.doc && state.doc.components && state.doc.components.schemas) || {};
  const all = (schemas.Permission && schemas.Permission.enum) || [];
  return all.length > 0 && all.every((p) => perms.includes(p));
}

/** Why the server refuses the key, in a sentence that says what to do about it. */
function denialText(k) {
  const d = k.denial;
  switch (d.reason) {
    case "ip": {
      const rule = (k.ip_whitelist || []).join(", ") || "no address";
      return `IP not allowed (${d.status}): the server saw your address as ${k.client_ip}, and this key accepts only ${rule}. Add the address to the key's IP whitelist, or send from an allowed address.`;
    }
    case "revoked":
      return `Key revoked (${d.status}): this key was revoked and no longer works. Create a new key.`;
    case "expired":
      return `Key expired (${d.status}): this key expired${k.expires_at ? ` on ${fmtTime(k.expires_at)}` : ""}. Extend its expiry on the API Keys page, or create a new key.`;
    case "rotated":
      return `Key rotated (${d.status}): this key was rolled and stopped working${k.rotated_at ? ` on ${fmtTime(k.rotated_at)}` : ""}. Use the key that replaced it.`;
    case "disabled":
      return `Key disabled (${d.status}): this key is switched off. Enable it on the API Keys page, or use another key.`;
    case "rate_limit":
      return `Rate limit reached (${d.status}): this key may make ${k.rate_limit.limit} requests per minute and has used them; it resets in ${k.rate_limit.reset} s.`;
    default:
      return `The server refuses this key (${d.status}): ${sentence("", d.detail)}`;
  }
}

/**
 * Before sending: does the pasted key have what the chosen endpoint needs? The permission is
 * the operation's `api_key` security role in the document; an operation without `api_key` is
 * for signed-in users only.
 */
function showPermission() {
  const o = state.current;
  const k = state.keyInfo;
  let text = "";
  if (o && k && state.key) {
    const alts = Array.isArray(o.op.security) ? o.op.security : [];
    const keyAlt = alts.find((a) => a && Object.prototype.hasOwnProperty.call(a, "api_key"));
    if (!keyAlt) {
      text = `API keys cannot use ${o.id}: it is for signed-in users, so the server will answer 403. Clear the API Key field to send it with your session.`;
    } else {
      const missing = (keyAlt.api_key || []).filter((p) => !(k.permissions || []).includes(p));
      if (missing.length) {
        text = `Permission missing: ${o.id} needs ${missing.join(", ")}, which this key does not have, so the server will answer 403. Give the key ${missing.join(", ")} on the API Keys page, or use another key.`;
      }
    }
  }
  setWarning(ui.permissionWarning, text);
}

/**
 * Show `text` in a role="alert" warning (hidden when empty), touching the node only when the
 * text changes: a screen reader announces an alert each time its text is set, even to the same.
 */
function setWarning(node, text) {
  if (node.textContent !== text) node.textContent = text;
  if (node.hidden !== !text) node.hidden = !text;
}

function showScope(domains) {
  const text = domains && domains.length
    ? `Domain scope is active: requests with this key are limited to ${domains.join(", ")}. Links and domains outside it look absent (404), also when creating or moving a link there.`
    : "";
  setWarning(ui.scopeWarning, text);
}

/** The server's answer about a well-formed key, asked once per key for the page's life. */
function askServer(key) {
  if (!state.keyChecks.has(key)) {
    const answer = request("GET", "/api/v1/keys/current", { key, cache: "no-store" });
    state.keyChecks.set(key, answer);
    // A network failure may be retried by the next paste; an answer is final.
    answer.then((res) => { if (res.status === 0) state.keyChecks.delete(key); });
  }
  return state.keyChecks.get(key);
}

/**
 * The key panel (a polite live region) says `nodes`. `live` false: after a response, whose own
 * note (#pg-response-key) is the one announcement, the panel changes silently. Unchanged
 * content is left alone, so nothing is announced again.
 */
function setKeyPanel(nodes, live) {
  ui.keyInfo.setAttribute("aria-live", live ? "polite" : "off");
  const next = document.createElement("div");
  next.append(...nodes);
  if (next.innerHTML !== ui.keyInfo.innerHTML) ui.keyInfo.replaceChildren(...next.childNodes);
}

/**
 * The key panel for a key the server knows: usable, or refused and why (then what it is).
 * `live` false after a response (see setKeyPanel).
 */
function showKeyInfo(data, live = true) {
  state.keyInfo = data;
  ui.keyInfo.classList.toggle("error", !!data.denial);
  if (data.denial) {
    ui.key.setAttribute("aria-invalid", "true");
    setKeyPanel([el("p", { class: "pg-key-error error", text: denialText(data) }), keyDetails(data)], live);
  } else {
    ui.key.removeAttribute("aria-invalid");
    setKeyPanel([el("p", { class: "pg-key-ok", text: "Valid key." }), keyDetails(data)], live);
  }
  showScope(data.domains);
  showPermission();
  relocalize();
}

// ---- after each response: the key panel stays true ----------------------------------------

/** The RateLimit header's fields ("limit=50, remaining=49, reset=60"), or null. */
function rateLimitOf(headers) {
  const raw = headers && headers.get("RateLimit");
  if (!raw) return null;
  const out = {};
  for (const part of raw.split(",")) {
    const m = /^\s*(limit|remaining|reset)\s*=\s*(\d+)\s*$/.exec(part);
    if (m) out[m[1]] = Number(m[2]);
  }
  return ["limit", "remaining", "reset"].every((f) => Number.isFinite(out[f])) ? out : null;
}

// 401 reasons (the problem type's last segment) that describe a key the server still knows.
const REFUSED = new Set(["revoked", "expired", "rotated", "disabled"]);

/** Whether operation `o` takes the API key (an `api_key` alternative in its security). */
function takesKey(o) {
  const alts = o && Array.isArray(o.op.security) ? o.op.security : [];
  return alts.some((a) => a && Object.prototype.hasOwnProperty.call(a, "api_key"));
}

/** Whether `o` is GET /api/v1/keys/current, whose 200 describes the key (whatever its state). */
const isKeyCheck = (o) => !!o && o.method === "GET" && o.path === "/api/v1/keys/current";

/**
 * What a response to operation `o` sent with `key` says about it, on the key panel and under
 * the response: the requests left (RateLimit), a refusal (401 revoked/expired/rotated/disabled,
 * 429 for the key's rate limit), or, when the key got through, that an earlier refusal no
 * longer holds. A 200 from keys/current is the key's state itself (it answers 200 for a revoked
 * key too). A refusal is cleared only by an answer to an operation that takes the key. No extra
 * request: the answer itself is the news. The panel changes silently; the note under the
 * response is the announcement.
 */
function learnFromResponse(key, res, o) {
  ui.responseKey.textContent = "";
  ui.responseKey.hidden = true;
  if (!key || key !== state.key || !state.keyInfo || !res.status) return;
  const known = isKeyCheck(o) && res.status >= 200 && res.status < 300 ? parseBody(res.text) : null;
  const k = Object.assign({}, known && typeof known === "object" ? known : state.keyInfo);
  const rl = rateLimitOf(res.headers);
  if (rl) k.rate_limit = rl;
  const problem = res.status >= 400 ? parseBody(res.text) || {} : {};
  const type = typeof problem.type === "string" ? problem.type : "";
  const why = (/\/unauthenticated\/([a-z_]+)$/.exec(type) || [])[1];
  if (known) {
    // keys/current said what the key is now, refusal included.
  } else if (res.status === 401 && REFUSED.has(why)) {
    if (why !== "rotated") k.status = why;
    k.denial = { status: 401, reason: why, detail: problem.detail || "" };
  } else if (res.status === 401 && why === "unknown") {
    state.keyInfo = null;
    state.keyLatest.delete(key);
    state.keyChecks.delete(key); // pasted again, it is asked about again, not the old answer
    keyProblem(`The server no longer knows this key (401): it was deleted. Create a new key on the API Keys page.`, false);
    showScope(null);
    showPermission();
    ui.responseKey.textContent = "This key was deleted: see the API Key panel.";
    ui.responseKey.hidden = false;
    return;
  } else if (res.status === 429 && /\/key-rate-limit$/.test(type)) {
    const wait = Number(res.headers.get("Retry-After"));
    k.rate_limit = rl || Object.assign({}, k.rate_limit, { remaining: 0, reset: Number.isFinite(wait) ? wait : (k.rate_limit || {}).reset });
    k.denial = { status: 429, reason: "rate_limit", detail: problem.detail || "" };
  } else if (k.denial && takesKey(o) && res.status !== 401 && res.status !== 429 && !(res.status === 403 && k.denial.reason === "ip")) {
    // The key got through, so what refused it before (disabled, the rate limit, …) is over.
    k.denial = null;
    if (k.status !== "active" && res.status < 400) k.status = "active";
  }
  state.keyLatest.set(key, k);
  showKeyInfo(k, false);
  let note = "";
  if (k.denial) note = denialText(k);
  else if (k.rate_limit) note = `${k.rate_limit.remaining} of ${k.rate_limit.limit} requests left this minute for the key ${masked(key)}.`;
  ui.responseKey.textContent = note;
  ui.responseKey.hidden = !note;
}

// ---- example bodies with the user's own domain -----------------------------------------------

/** The domain an example should use: the key's first scoped domain, else the user's first. */
function exampleDomain() {
  const k = state.keyInfo;
  if (state.key && k && (k.domains || []).length) return k.domains[0];
  return state.domains && state.domains.length ? state.domains[0] : null;
}

/** The document's example with the user's domain in its `domain` field (the rest as written). */
function localized(example) {
  const host = exampleDomain();
  if (host && example && typeof example === "object" && !Array.isArray(example) && typeof example.domain === "string") {
    return Object.assign({}, example, { domain: host });
  }
  return example;
}

function showExample(source) {
  const text = source === undefined ? "" : JSON.stringify(localized(source), null, 2);
  ui.body.value = text;
  state.example = { source, text };
}

/** The domain to use changed (a key pasted or cleared, the domains loaded): an untouched example follows. */
function relocalize() {
  const e = state.example;
  if (!e || !state.current || ui.body.value !== e.text) return;
  showExample(e.source);
  validateBody();
  refresh();
}

async function loadDomains() {
  try {
    const page = await api("GET", "/api/v1/domains?limit=100");
    state.domains = (page.items || []).map((d) => d.hostname);
    relocalize();
  } catch (_) {
    state.domains = []; // a role that may not read domains keeps the document's example
  }
}

function keyProblem(text, live = true) {
  ui.key.setAttribute("aria-invalid", "true");
  ui.keyInfo.classList.add("error");
  setKeyPanel([el("p", { class: "pg-key-error error", text })], live);
}

/** Check the key as typed: its format here at once, then (well-formed only) with the server. */
async function checkKey() {
  const raw = ui.key.value;
  const format = checkKeyFormat(raw, keyPrefix);
  state.key = raw.trim();
  state.keyInfo = null;
  relocalize();
  describeAuth();
  refresh();
  showScope(null);
  showPermission();
  ui.keyInfo.classList.remove("error");
  ui.keyInfo.setAttribute("aria-live", "polite");
  ui.key.removeAttribute("aria-invalid");
  if (format.reason === "empty") {
    ui.keyInfo.replaceChildren();
    return;
  }
  if (!format.ok) {
    keyProblem(format.message);
    return;
  }
  const key = format.key;
  ui.keyInfo.replaceChildren(el("p", { class: "muted", text: "Checking the key with the server…" }));
  const res = await askServer(key);
  if (ui.key.value.trim() !== key) return; // another key was pasted meanwhile
  if (res.status === 0) {
    keyProblem("The key could not be checked: the server could not be reached.");
    return;
  }
  const data = parseBody(res.text);
  if (res.status >= 200 && res.status < 300 && data) {
    showKeyInfo(state.keyLatest.get(key) || data);
  } else {
    const detail = (data && (data.detail || data.title)) || `the server answered ${res.status}`;
    keyProblem(`The server refused this key (${res.status}): ${sentence("", detail)}`);
  }
}

// ---- the request builder -----------------------------------------------------------------

const inputId = (where, name) => `pg-${where}-${String(name).replace(/[^A-Za-z0-9_-]/g, "_")}`;

function paramControl(p, where) {
  const id = inputId(where, p.name);
  const schema = resolve(state.doc, p.schema || {});
  const description = p.description || schema.description || "";
  const hintId = `${id}-hint`;
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;
  let control;
  if (type === "boolean") {
    control = el("select", { id, "data-param": p.name, "data-in": where, "aria-describedby": description ? hintId : null },
      el("option", { value: "", text: "(not set)" }), el("option", { value: "true", text: "true" }), el("option", { value: "false", text: "false" }));
  } else {
    const ex = p.example !== undefined ? p.example : schema.example;
    control = el("input", {
      id, type: "text", autocomplete: "off", spellcheck: "false",
      inputmode: type === "integer" || type === "number" ? "numeric" : null,
      "data-param": p.name, "data-in": where,
      required: where === "path" || !!p.required,
      placeholder: ex !== undefined ? String(ex) : null,
      "aria-describedby": description ? hintId : null,
    });
  }
  const required = where === "path" || p.required;
  return el("div", { class: "field pg-param" },
    el("label", { for: id }, el("code", { text: p.name }), required ? " (required)" : " (optional)"),
    control,
    description ? el("p", { class: "hint", id: hintId }, inlineMarkdown(description)) : null);
}

function selectEndpoint(id, opts) {
  opts = opts || {};
  const o = state.ops.find((x) => x.id === id) || null;
  state.current = o;
  if (ui.endpoint.value !== (o ? o.id : "")) ui.endpoint.value = o ? o.id : "";
  ui.response.hidden = true;
  if (!o) {
    ui.builder.hidden = true;
    refresh();
    showPermission();
    return;
  }
  ui.description.replaceChildren(
    o.op.summary ? el("strong", { text: o.op.summary }) : "",
    o.op.description ? richText(o.op.description) : "");
  state.loaded = null;
  describeLoaded();
  const pathParams = o.params.filter((p) => p.in === "path");
  const queryParams = o.params.filter((p) => p.in === "query");
  ui.pathSet.querySelector(".pg-param-list").replaceChildren(...pathParams.map((p) => paramControl(p, "path")));
  ui.querySet.querySelector(".pg-param-list").replaceChildren(...queryParams.map((p) => paramControl(p, "query")));
  ui.pathSet.hidden = !pathParams.length;
  ui.querySet.hidden = !queryParams.length;

  const json = o.media && o.media.includes("json");
  const multipart = o.media && o.media.startsWith("multipart/");
  ui.bodyField.hidden = !json;
  state.example = null;
  if (!json) ui.body.value = "";
  else if (opts.body !== undefined) ui.body.value = opts.body;
  else if (opts.example !== undefined) showExample(opts.example);
  else showExample(o.example);
  ui.fileField.hidden = !multipart;
  ui.file.value = "";
  if (multipart) {
    ui.fileHint.textContent = `Sent as multipart/form-data, field "${fileField()}".`;
  }
  ui.builder.hidden = false;
  validateBody();
  refresh();
  showPermission();
}

function fileField() {
  const o = state.current;
  const list = o ? fields(state.doc, o.bodySchema || {}, "", 0) : [];
  const f = list.find((x) => x.type.includes("binary")) || list[0];
  return f ? f.name : "file";
}

function paramValues(where) {
  const out = [];
  const set = where === "path" ? ui.pathSet : ui.querySet;
  for (const c of set.querySelectorAll("[data-param]")) out.push([c.dataset.param, c.value.trim()]);
  return out;
}

function missingPathParams() {
  return paramValues("path").filter(([, v]) => !v).map(([n]) => n);
}

/** The request the builder describes right now. */
function currentRequest() {
  const o = state.current;
  let path = o.path;
  for (const [name, value] of paramValues("path")) {
    path = path.split(`{${name}}`).join(value ? encodeURIComponent(value) : `{${name}}`);
  }
  const q = new URLSearchParams();
  for (const [name, value] of paramValues("query")) if (value) q.append(name, value);
  const query = q.toString();
  const json = o.media && o.media.includes("json");
  const multipart = o.media && o.media.startsWith("multipart/");
  const body = json && ui.body.value.trim() ? ui.body.value : null;
  const file = multipart && ui.file.files && ui.file.files[0] ? ui.file.files[0] : null;
  return {
    method: o.method,
    path,
    query,
    url: `${location.origin}${path}${query ? "?" + query : ""}`,
    body,
    file,
    fileField: multipart ? fileField() : null,
    multipart: !!multipart,
    key: state.key,
  };
}

function validateBody() {
  const o = state.current;
  state.bodyValid = true;
  let message = "";
  if (o && o.media && o.media.includes("json")) {
    const text = ui.body.value.trim();
    if (!text) {
      if (o.bodyRequired) { state.bodyValid = false; message = "This endpoint needs a JSON body."; }
    } else {
      try { JSON.parse(text); } catch (e) { state.bodyValid = false; message = `Invalid JSON: ${e.message}`; }
    }
  }
  ui.bodyError.textContent = message;
  ui.bodyError.hidden = !message;
  if (message) ui.body.setAttribute("aria-invalid", "true");
  else ui.body.removeAttribute("aria-invalid");
}

function headerLines(r) {
  const lines = ["Accept: application/json"];
  if (r.key) lines.push(`Authorization: Bearer ${masked(r.key)}`);
  else {
    lines.push(`Cookie: ${sessionCookieName(state.doc || {})}=… (your session)`);
    if (sendsCsrf(r.method)) lines.push("X-CSRF-Token: … (from this page)");
  }
  if (r.body !== null) lines.push("Content-Type: application/json");
  if (r.multipart) lines.push("Content-Type: multipart/form-data; boundary=…");
  return lines;
}

function refresh() {
  describeAuth();
  const o = state.current;
  const missing = o ? missingPathParams() : [];
  ui.send.disabled = state.sending || !o || missing.length > 0 || !state.bodyValid ||
    (o && o.media && o.media.startsWith("multipart/") && o.bodyRequired && !(ui.file.files && ui.file.files.length));
  if (!o) return;
  const r = currentRequest();
  ui.previewMethod.textContent = r.method;
  ui.previewMethod.className = `method method-${r.method.toLowerCase()}`;
  ui.previewUrl.textContent = `${r.url}`;
  ui.previewHeaders.textContent = headerLines(r).join("\n");
  let body = "";
  if (r.body !== null) body = r.body;
  else if (r.multipart) body = r.file ? `${r.fileField}=@${r.file.name} (${r.file.size} bytes)` : `${r.fileField}=(choose a file)`;
  ui.previewBody.textContent = body;
  ui.previewBody.hidden = !body;
  // The code to put in a program: the key from the environment, never the pasted one.
  const model = requestModel(Object.assign({}, r, { key: "", fileName: r.file ? r.file.name : null }));
  if (!state.samples) {
    state.samples = codeSamples(model, "Code for this request");
    ui.code.append(state.samples);
  } else {
    state.samples.update(model);
  }
}

// ---- sending --------------------------------------------------------------------------------

/** The request sent, as a snippets.js model: the pasted key, or $LINKDOCK_API_KEY without one. */
function requestModel(r) {
  const headers = [["Authorization", r.key ? `Bearer ${r.key}` : ["Bearer ", env("LINKDOCK_API_KEY")]]];
  if (r.body !== null) headers.push(["Content-Type", "application/json"]);
  const model = { method: r.method, url: r.url, headers, body: r.body };
  if (r.multipart) model.file = { field: r.fileField, name: r.fileName || "links.csv" };
  return model;
}

/** Cut `s` to at most `limit` UTF-8 bytes, on a character boundary. */
function capBytes(s, limit) {
  const bytes = new TextEncoder().encode(s);
  if (bytes.length <= limit) return s;
  let cut = limit;
  while (cut > 0 && (bytes[cut] & 0xc0) === 0x80) cut--;
  return new TextDecoder().decode(bytes.slice(0, cut));
}

function statusClass(status) {
  if (status >= 200 && status < 300) return "status-2xx";
  if (status >= 400 && status < 500) return "status-4xx";
  if (status >= 500) return "status-5xx";
  return "status-other";
}

function formatBody(text, type) {
  if (!text) return "";
  if (/json/i.test(type || "") || /^\s*[[{]/.test(text)) {
    try { return JSON.stringify(JSON.parse(text), null, 2); } catch (_) { /* shown as text */ }
  }
  return text;
}

function showResponse(r, result) {
  state.requests += 1;
  ui.response.dataset.request = String(state.requests);
  ui.status.className = `status-badge ${statusClass(result.status)}`;
  ui.status.textContent = result.status ? `${result.status} ${result.statusText || ""}`.trim() : "Network error";
  ui.duration.textContent = `${result.duration} ms`;
  ui.contentType.textContent = result.type || "";
  ui.responseBody.textContent = result.shown;
  ui.responseBody.hidden = !result.shown;
  ui.responseEmpty.hidden = !!result.shown;
  announce(ui.copyStatus, "", false);
  ui.historyNotice.hidden = true;
  ui.historyNotice.textContent = "";
  ui.response.hidden = false;
}

async function send() {
  const o = state.current;
  if (!o || state.sending) return;
  const r = currentRequest();
  r.fileName = r.file ? r.file.name : null;
  let body = null;
  const headers = {};
  if (r.body !== null) {
    headers["Content-Type"] = "application/json";
    body = r.body;
  } else if (r.multipart) {
    body = new FormData();
    if (r.file) body.append(r.fileField, r.file, r.file.name);
  }
  state.sending = true;
  state.last = r;
  state.loaded = null;
  describeLoaded();
  ui.send.textContent = "Sending...";
  ui.send.setAttribute("aria-busy", "true");
  refresh();
  // With a pasted key the key alone judges the request; otherwise the session (and CSRF token).
  const res = await request(r.method, r.url, { key: r.key || undefined, headers, body, cache: "no-store" });
  const result = res.status
    ? { status: res.status, statusText: res.statusText, type: res.type, text: res.text, shown: formatBody(res.text, res.type) }
    : { status: 0, statusText: "", type: "", text: "", shown: `The request failed: ${res.error.message}` };
  result.duration = res.duration;
  state.sending = false;
  ui.send.textContent = "Send Request";
  ui.send.removeAttribute("aria-busy");
  refresh();
  showResponse(r, result);
  learnFromResponse(r.key, res, o);
  if (result.status) await record(r, result);
}

// ---- history ----------------------------------------------------------------------------------

async function record(r, result) {
  const entry = {
    method: r.method,
    path: r.path,
    query: r.query,
    body: r.multipart ? `(file ${r.fileName || "none"})` : capBytes(r.body || "", BODY_LIMIT),
    status: result.status,
    duration_ms: result.duration,
    key_prefix: r.key ? r.key.slice(0, PREFIX_LEN) : "",
  };
  try {
    const saved = await api("POST", "/api/v1/playground/history", entry);
    addHistoryItem(saved, true);
  } catch (e) {
    const problem = (e instanceof ApiError && e.problem) || {};
    const reasons = Array.isArray(problem.errors) ? problem.errors.map((x) => sentence(fieldWords(x.field), x.message)).join(" ") : "";
    ui.historyNotice.textContent = `Not saved in the Request History. ${reasons || sentence("", e.message)}`;
    ui.historyNotice.hidden = false;
  }
}

function historyItem(h) {
  const query = h.query ? `?${h.query}` : "";
  const button = el("button", { type: "button", class: "pg-history-item", title: "Load this request into the builder" },
    el("span", { class: "pg-history-line" },
      el("span", { class: `method method-${String(h.method).toLowerCase()}`, text: h.method }),
      el("span", { class: `status-badge ${statusClass(h.status)}`, text: String(h.status) })),
    el("code", { class: "pg-history-path", text: `${h.path}${query}` }),
    el("span", { class: "pg-history-meta muted" },
      el("time", { datetime: h.created_at, text: fmtTime(h.created_at) || "" }),
      ` · ${h.duration_ms} ms · ${h.key_prefix ? `key ${h.key_prefix}…` : "session"}`));
  button.addEventListener("click", () => loadFromHistory(h));
  return el("li", { "data-id": String(h.id), "data-method": h.method, "data-path": h.path }, button);
}

function emptyHistory() {
  ui.historyList.replaceChildren(el("li", { class: "empty muted", text: "No requests yet." }));
  ui.clearHistory.disabled = true;
}

function addHistoryItem(h, first) {
  const empty = ui.historyList.querySelector("li.empty");
  if (empty) empty.remove();
  if (first) ui.historyList.prepend(historyItem(h));
  else ui.historyList.append(historyItem(h));
  while (ui.historyList.children.length > HISTORY_SHOWN) ui.historyList.lastElementChild.remove();
  ui.clearHistory.disabled = false;
}

async function loadHistory() {
  try {
    const page = await api("GET", `/api/v1/playground/history?limit=${HISTORY_SHOWN}`);
    ui.historyList.replaceChildren();
    if (!page.items.length) emptyHistory();
    for (const h of page.items) addHistoryItem(h, false);
  } catch (e) {
    ui.historyList.replaceChildren();
    announce(ui.historyStatus, `The history could not be loaded: ${e.message}`, true);
  }
}

/** The operation whose path template matches a concrete path; literal segments win. */
function matchOperation(method, path) {
  let best = null;
  for (const o of state.ops) {
    if (o.method !== method) continue;
    const names = [];
    const pattern = o.path.split(/(\{[^}]+\})/).map((part) => {
      const m = /^\{([^}]+)\}$/.exec(part);
      if (m) { names.push(m[1]); return "([^/]+)"; }
      return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    }).join("");
    const found = new RegExp(`^${pattern}$`).exec(path);
    if (!found) continue;
    if (!best || names.length < best.names.length) {
      best = { o, names, values: found.slice(1).map((v) => { try { return decodeURIComponent(v); } catch (_) { return v; } }) };
    }
  }
  return best;
}

/** What authenticates a request: "the API key ldk_abc…" or "your session". */
const authOf = (prefix) => (prefix ? `the API key ${prefix}…` : "your session");

/**
 * The note under a request loaded from the history: nothing was sent, and which credentials
 * "Send Request" will use now (kept true while the key field changes).
 */
function describeLoaded() {
  const l = state.loaded;
  ui.loaded.hidden = !l;
  if (!l) return;
  const h = l.entry;
  const now = authOf(state.key ? state.key.slice(0, PREFIX_LEN) : "");
  const then = authOf(h.key_prefix);
  const lines = [`Loaded ${h.method} ${h.path}${h.query ? "?" + h.query : ""} from the Request History. Nothing was sent.`];
  if (l.multipart) lines.push(`Choose the file again: the history keeps only its name ${h.body}.`);
  lines.push(now === then
    ? `"Send Request" sends it with ${now}, as before.`
    : `"Send Request" sends it with ${now}; it was first sent with ${then}.`);
  if (l.extra.length) lines.push(`Unknown query parameters were left out: ${l.extra.join(", ")}.`);
  ui.loaded.textContent = lines.join(" ");
  ui.loaded.classList.toggle("warning", now !== then);
}

/**
 * Load a history entry into the builder — method, path, parameters, body — and say which
 * authentication "Send Request" will use. Nothing is sent: a request refused to a scoped key
 * must not go out again with the session because someone clicked its entry.
 */
function loadFromHistory(h) {
  if (!state.doc) return;
  const match = matchOperation(h.method, h.path);
  if (!match) {
    announce(ui.historyStatus, `${h.method} ${h.path} is not an endpoint of this server any more.`, true);
    return;
  }
  const o = match.o;
  const json = o.media && o.media.includes("json");
  selectEndpoint(o.id, { body: json ? h.body : undefined });
  match.names.forEach((name, i) => {
    const c = document.getElementById(inputId("path", name));
    if (c) c.value = match.values[i];
  });
  const extra = [];
  for (const [name, value] of new URLSearchParams(h.query || "")) {
    const c = document.getElementById(inputId("query", name));
    if (c) c.value = value;
    else extra.push(name);
  }
  validateBody();
  state.loaded = { entry: h, multipart: !!(o.media && o.media.startsWith("multipart/")), extra };
  refresh();
  announce(ui.historyStatus, `Loaded ${h.method} ${h.path} into the request builder.`, false);
  root.scrollIntoView({ block: "start" });
  (o.media && o.media.startsWith("multipart/") ? ui.file : ui.send).focus({ preventScroll: true });
}

// ---- "Try in Playground" from the API Documentation --------------------------------------------

function tryEndpoint(detail) {
  const id = `${String(detail.method).toUpperCase()} ${detail.path}`;
  if (!state.ops.some((o) => o.id === id)) return false;
  // The documentation's example, with the user's domain like the playground's own.
  selectEndpoint(id, detail.body !== undefined && detail.body !== null ? { example: detail.body } : {});
  ui.endpoint.focus({ preventScroll: true });
  return true;
}

// ---- start --------------------------------------------------------------------------------------

function start() {
  // The API key: checked as it is typed (the format here; a well-formed key once with the server).
  ui.key.addEventListener("input", checkKey);
  ui.key.addEventListener("change", checkKey); // a field cleared by script fires only "change"
  ui.keyToggle.addEventListener("click", () => {
    const show = ui.key.type === "password";
    ui.key.type = show ? "text" : "password";
    ui.keyToggle.textContent = show ? "Hide" : "Show";
    ui.keyToggle.setAttribute("aria-pressed", String(show));
  });

  // The request builder.
  ui.endpoint.addEventListener("change", () => selectEndpoint(ui.endpoint.value));
  ui.builder.addEventListener("input", (ev) => {
    if (ev.target === ui.body) validateBody();
    refresh();
  });
  ui.builder.addEventListener("change", () => refresh());
  ui.builder.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (!ui.send.disabled) send();
  });

  // Request History and copying.
  ui.clearHistory.addEventListener("click", async () => {
    if (!window.confirm("Clear the whole Request History? This cannot be undone.")) return;
    try {
      await api("DELETE", "/api/v1/playground/history");
      emptyHistory();
      announce(ui.historyStatus, "History cleared.", false);
    } catch (e) {
      announce(ui.historyStatus, `The history could not be cleared: ${e.message}`, true);
    }
  });
  ui.copyCurl.addEventListener("click", async () => {
    if (!state.last) return;
    const ok = await copyText(curl(requestModel(state.last)), ui.copyCurl);
    const note = state.last.key ? "" : " It reads the key from $LINKDOCK_API_KEY, because no API key was pasted.";
    announce(ui.copyStatus, ok ? `cURL command copied.${note}` : COPY_BY_HAND, !ok);
  });

  ui.copyResponse.addEventListener("click", async () => {
    const ok = await copyText(ui.responseBody.textContent, ui.copyResponse);
    announce(ui.copyStatus, ok ? "Response copied." : COPY_BY_HAND, !ok);
  });

  // "Try in Playground" from the API Documentation.
  document.addEventListener("linkdock:try-endpoint", (ev) => {
    const detail = ev.detail || {};
    if (state.doc) {
      if (tryEndpoint(detail)) ev.preventDefault();
    } else {
      state.pending = detail;
      ev.preventDefault();
    }
    root.scrollIntoView({ block: "start" });
  });

  // Leaving the page forgets the key: nothing for the back/forward cache or form restore.
  window.addEventListener("pagehide", () => {
    ui.key.value = "";
    ui.key.type = "password";
    ui.keyToggle.textContent = "Show";
    ui.keyToggle.setAttribute("aria-pressed", "false");
    state.key = "";
    state.keyInfo = null;
    state.keyLatest.clear();
  });
  window.addEventListener("pageshow", (ev) => {
    if (ev.persisted) checkKey();
  });

  // "On this page": the section's heading takes the focus, so Tab continues from there.
  const toc = $("manual-toc");
  if (toc) {
    toc.addEventListener("click", (ev) => {
      const link = ev.target.closest("a[data-focus]");
      const heading = link && $(link.dataset.focus);
      if (!heading) return;
      ev.preventDefault();
      heading.scrollIntoView({ block: "start" });
      heading.focus({ preventScroll: true });
    });
  }

  describeAuth();
  loadHistory();
  loadDomains();
  loadDocument()
    .then(({ doc }) => {
      state.doc = doc;
      state.ops = loadOperations(doc);
      fillEndpointSelect(doc);
      if (state.pending) { tryEndpoint(state.pending); state.pending = null; }
    })
    .catch((e) => {
      ui.endpoint.replaceChildren(el("option", { value: "", text: "No endpoints" }));
      announce(ui.endpointStatus, `The endpoints could not be loaded: ${e.message}`, true);
    });
}

if (root) start();
