// Manual Integration → "API Documentation": built in the browser from /api/openapi.json, the
// one source the server generates from its handlers. Nothing here knows a particular endpoint.
//
// The document is read through openapi.js (loaded once, shared with the API Playground); the
// example requests are written by snippets.js from a request model, in the language the reader
// picks (code-samples.js). Descriptions are the document's Markdown, shown as formatting.
// "Try in Playground" dispatches a cancelable `linkdock:try-endpoint` CustomEvent on the button
// (bubbling to document) with detail { method, path, operationId, body, operation }; a listener
// that takes the endpoint calls event.preventDefault().

import { COPY_BY_HAND, announce, copyText, el, getText, inlineMarkdown, richText, sendsCsrf } from "./common.js";
import { codeSamples, copyablePre } from "./code-samples.js";
import {
  exampleOf, fields, loadDocument, operations, parameterExample, parameters, requestBody, resolve,
  securityAlternatives, securitySchemes, synth, typeName,
} from "./openapi.js";
import { env } from "./snippets.js";

const section = document.getElementById("api-docs");
const groupsRoot = document.getElementById("api-docs-groups");
const status = document.getElementById("api-docs-status");
const publicUrl = (section && section.dataset.publicUrl ? section.dataset.publicUrl : location.origin).replace(/\/+$/, "");

function describeScheme(doc, name) {
  const s = securitySchemes(doc)[name] || {};
  if (s.type === "http" && String(s.scheme).toLowerCase() === "bearer") return "API key (Authorization: Bearer)";
  if (s.type === "apiKey" && s.in === "cookie") return `session cookie (${s.name})`;
  if (s.type === "apiKey") return `${s.in} ${s.name}`;
  return name;
}

function authText(doc, op) {
  const alts = securityAlternatives(doc, op);
  const named = alts.filter((a) => a.length);
  if (!named.length) return "None: no credentials needed";
  const text = named.map((a) => a.map((n) => describeScheme(doc, n)).join(" + ")).join(" or ");
  return alts.some((a) => !a.length) ? `Optional: ${text}` : text;
}

function paramExample(doc, p) {
  const v = parameterExample(doc, p);
  return typeof v === "string" ? v : JSON.stringify(v);
}

/**
 * The example request of an operation as a snippets.js request model: example parameter values,
 * the first accepted credentials as environment variables, the example body.
 */
function exampleRequest(doc, o, params) {
  let path = o.path;
  const query = new URLSearchParams();
  for (const p of params) {
    const v = paramExample(doc, p);
    if (p.in === "path") path = path.split(`{${p.name}}`).join(encodeURIComponent(v));
    else if (p.in === "query" && (p.required || p.example !== undefined)) query.append(p.name, v);
  }
  const q = query.toString();
  const req = { method: o.method.toUpperCase(), url: `${publicUrl}${path}${q ? "?" + q : ""}`, headers: [], body: null };
  const first = securityAlternatives(doc, o.op)[0] || [];
  const schemes = securitySchemes(doc);
  const bearer = first.find((n) => schemes[n] && schemes[n].type === "http");
  const cookie = first.find((n) => schemes[n] && schemes[n].in === "cookie");
  if (bearer) req.headers.push(["Authorization", ["Bearer ", env("LINKDOCK_API_KEY")]]);
  else if (cookie) {
    req.headers.push(["Cookie", [`${schemes[cookie].name}=`, env("LINKDOCK_SESSION")]]);
    if (sendsCsrf(req.method)) req.headers.push(["X-CSRF-Token", [env("LINKDOCK_CSRF_TOKEN")]]);
  }
  const body = requestBody(doc, o.op);
  if (body && body.media.startsWith("multipart/")) {
    const list = fields(doc, body.schema, "", 1);
    const f = list.find((x) => x.type.includes("binary")) || list[0];
    if (f) req.file = { field: f.name, name: `${f.name}.csv` };
  } else if (body) {
    const value = body.example !== undefined ? body.example : synth(doc, body.schema, 0);
    req.headers.push(["Content-Type", body.media]);
    req.body = JSON.stringify(value);
  }
  return req;
}

// ---- rendering ----------------------------------------------------------------------------

const slug = (s) => String(s).toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");

function table(cls, caption, head, rows) {
  return el("div", { class: "table-wrap" },
    el("table", { class: `data ${cls}` },
      el("caption", { class: "visually-hidden", text: caption }),
      el("thead", {}, el("tr", {}, head.map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, rows)));
}

function fieldRows(list) {
  return list.map((f) =>
    el("tr", { "data-field": f.name },
      el("td", {}, el("code", { text: f.name })),
      el("td", { text: f.type }),
      el("td", { text: f.required ? "required" : "optional" }),
      el("td", {}, inlineMarkdown(f.description || ""))));
}

function paramBlock(doc, title, cls, list) {
  const block = el("div", { class: `doc-block ${cls}` }, el("h5", { text: title }));
  if (!list.length) {
    block.append(el("p", { class: "muted none", text: "None." }));
    return block;
  }
  const rows = list.map((p) => fieldRows([{
    name: p.name,
    type: typeName(doc, p.schema || {}),
    required: !!p.required,
    description: p.description || resolve(doc, p.schema || {}).description || "",
  }])[0]);
  block.append(table("params", title, ["Name", "Type", "Required", "Description"], rows));
  return block;
}


function renderEndpoint(doc, o) {
  const method = o.method.toUpperCase();
  const params = parameters(doc, o);
  const id = `op-${slug(o.op.operationId || method + " " + o.path)}`;
  const article = el("article", {
    class: "endpoint", id, "data-method": method, "data-path": o.path,
    "data-operation-id": o.op.operationId || null, "aria-labelledby": `${id}-title`,
  });
  article.append(
    el("h4", { class: "endpoint-title", id: `${id}-title` },
      el("span", { class: `method method-${o.method}`, text: method }), " ",
      el("code", { class: "path", text: o.path }),
      o.op.summary ? el("span", { class: "summary", text: o.op.summary }) : null));
  if (o.op.description) article.append(el("div", { class: "description" }, richText(o.op.description)));
  article.append(
    el("dl", { class: "endpoint-meta" },
      el("dt", { text: "Authentication" }),
      el("dd", { class: "auth", text: authText(doc, o.op) })));

  article.append(paramBlock(doc, "Path parameters", "path-params", params.filter((p) => p.in === "path")));
  article.append(paramBlock(doc, "Query parameters", "query-params", params.filter((p) => p.in === "query")));

  const bodyBlock = el("div", { class: "doc-block request-body" }, el("h5", { text: "Request body" }));
  const body = o.op.requestBody ? resolve(doc, o.op.requestBody) : null;
  if (!body) bodyBlock.append(el("p", { class: "muted none", text: "None." }));
  for (const [media, content] of Object.entries((body && body.content) || {})) {
    bodyBlock.append(el("p", { class: "schema-line" },
      el("code", { text: media }), ` · ${typeName(doc, content.schema || {})} · ${body.required ? "required" : "optional"}`,
      body.description ? [" · ", inlineMarkdown(body.description)] : ""));
    const list = fields(doc, content.schema || {}, "", 0);
    if (list.length) bodyBlock.append(table("fields", "Request body fields", ["Field", "Type", "Required", "Description"], fieldRows(list)));
  }
  article.append(bodyBlock);

  const respBlock = el("div", { class: "doc-block responses" }, el("h5", { text: "Responses" }));
  const rows = [];
  let exampleResponse;
  let successSchema;
  for (const [code, raw] of Object.entries(o.op.responses || {})) {
    const r = resolve(doc, raw);
    const contents = Object.entries(r.content || {});
    const media = contents.map(([m, c]) => `${m}: ${typeName(doc, c.schema || {})}`).join("; ");
    rows.push(el("tr", { "data-status": code },
      el("td", {}, el("code", { text: code })),
      el("td", {}, inlineMarkdown(r.description || "")),
      el("td", { text: media || "no body" })));
    if (code.startsWith("2") && contents.length && !successSchema) {
      successSchema = contents[0][1].schema;
      const ex = exampleOf(contents[0][1]);
      exampleResponse = { code, value: ex !== undefined ? ex : synth(doc, successSchema || {}, 0) };
    }
  }
  respBlock.append(table("responses", "Responses", ["Status", "Description", "Body"], rows));
  if (successSchema) {
    const list = fields(doc, successSchema, "", 0);
    respBlock.append(el("h6", { text: `Response schema: ${typeName(doc, successSchema)}` }));
    if (list.length) respBlock.append(table("fields response-fields", "Response fields", ["Field", "Type", "Required", "Description"], fieldRows(list)));
  }
  article.append(respBlock);

  const exBlock = el("div", { class: "doc-block examples" },
    el("h5", { text: "Example request" }), codeSamples(exampleRequest(doc, o, params), "Example request"));
  if (exampleResponse) {
    const label = `Example response (${exampleResponse.code})`;
    const json = el("pre", { class: "code json" }, el("code", { text: JSON.stringify(exampleResponse.value, null, 2) }));
    exBlock.append(el("h5", { text: label }), copyablePre(json, label));
  }
  article.append(exBlock);

  const tryButton = el("button", { type: "button", class: "try-endpoint", "data-method": method, "data-path": o.path, text: "Try in Playground" });
  tryButton.addEventListener("click", () => {
    const event = new CustomEvent("linkdock:try-endpoint", {
      bubbles: true,
      cancelable: true,
      detail: { method, path: o.path, operationId: o.op.operationId || null, body: (requestBody(doc, o.op) || {}).example, operation: o.op },
    });
    const taken = !tryButton.dispatchEvent(event);
    const playground = document.getElementById("api-playground");
    if (taken && playground) playground.scrollIntoView({ block: "start" });
    else announce(status, `The API Playground is not available yet: ${method} ${o.path} was not sent anywhere.`, false);
  });
  article.append(el("p", { class: "endpoint-actions" }, tryButton));
  return article;
}

function render(doc) {
  const ops = operations(doc);
  const tags = (doc.tags || []).map((t) => ({ name: t.name, description: t.description || "" }));
  for (const o of ops) {
    const t = (o.op.tags || ["Other"])[0];
    if (!tags.some((x) => x.name === t)) tags.push({ name: t, description: "" });
  }
  groupsRoot.replaceChildren();
  for (const tag of tags) {
    const mine = ops.filter((o) => ((o.op.tags || ["Other"])[0]) === tag.name);
    const group = el("details", { class: "doc-group", id: `docs-group-${slug(tag.name)}`, "data-tag": tag.name },
      el("summary", {},
        el("h3", { class: "group-title" },
          el("span", { class: "group-name", text: tag.name }), " ",
          el("span", { class: "muted count", text: mine.length === 1 ? "1 endpoint" : `${mine.length} endpoints` }))));
    if (tag.description) group.append(el("p", { class: "group-description muted" }, inlineMarkdown(tag.description)));
    if (!mine.length) group.append(el("p", { class: "muted none", text: "No endpoints in this group yet." }));
    for (const o of mine) group.append(renderEndpoint(doc, o));
    groupsRoot.append(group);
  }
  announce(status, `${ops.length} endpoints in ${tags.length} groups.`, false, true);
}

async function copyDocument(load, label, button) {
  try {
    const ok = await copyText(await load(), button);
    announce(status, ok ? `${label} copied to the clipboard.` : COPY_BY_HAND, !ok);
  } catch (e) {
    announce(status, `Could not copy ${label}: ${e.message}`, true);
  }
}

if (section) {
  for (const [id, label, load] of [
    ["copy-llms", "LLM.txt", () => getText("/api/llms-full.txt")],
    ["copy-openapi", "openapi.json", () => loadDocument().then(({ text }) => text)],
  ]) {
    const button = document.getElementById(id);
    button.addEventListener("click", () => copyDocument(load, label, button));
  }
  loadDocument().then(({ doc }) => render(doc)).catch((e) => announce(status, `The API documentation could not be loaded: ${e.message}`, true));
}
