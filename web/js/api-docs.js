// Manual Integration → "API Documentation": built in the browser from /api/openapi.json, the
// one source the server generates from its handlers. Nothing here knows a particular endpoint.
//
// Hooks for the API Playground (its own issue):
//   - window.LinkdockDocs.ready resolves to { doc, text } once the document is loaded;
//   - "Try in Playground" dispatches a cancelable `linkdock:try-endpoint` CustomEvent on the
//     button (bubbling to document) with detail { method, path, operationId, body, operation }.
//     A listener that takes the endpoint calls event.preventDefault().
"use strict";

(function () {
  const { el, announce, copyText } = window.Linkdock;
  const METHODS = ["get", "put", "post", "delete", "patch", "options", "head", "trace"];
  const MAX_DEPTH = 4;

  const section = document.getElementById("api-docs");
  const groupsRoot = document.getElementById("api-docs-groups");
  const status = document.getElementById("api-docs-status");
  const publicUrl = (section && section.dataset.publicUrl ? section.dataset.publicUrl : location.origin).replace(/\/+$/, "");

  // ---- reading the document -------------------------------------------------------------

  function resolve(doc, v) {
    for (let i = 0; i < 16 && v && typeof v.$ref === "string" && v.$ref.startsWith("#/"); i++) {
      let target = doc;
      for (const part of v.$ref.slice(2).split("/")) {
        target = target ? target[part.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined;
      }
      if (!target) return v;
      v = target;
    }
    return v || {};
  }

  function unwrapNullable(doc, schema) {
    for (const key of ["oneOf", "anyOf"]) {
      const alts = schema[key];
      if (Array.isArray(alts) && alts.length === 2) {
        const nonNull = alts.filter((a) => a.type !== "null");
        if (nonNull.length === 1) return resolve(doc, nonNull[0]);
      }
    }
    return schema;
  }

  function objectParts(doc, schema) {
    const props = [];
    const required = new Set(schema.required || []);
    for (const [k, v] of Object.entries(schema.properties || {})) props.push([k, v]);
    for (const part of schema.allOf || []) {
      const p = objectParts(doc, unwrapNullable(doc, resolve(doc, part)));
      props.push(...p.props);
      p.required.forEach((r) => required.add(r));
    }
    return { props, required };
  }

  function typeName(doc, schema) {
    if (!schema) return "any";
    if (schema.$ref) {
      const name = schema.$ref.split("/").pop();
      const target = resolve(doc, schema);
      return target.properties || target.allOf ? `object ${name}` : typeName(doc, target);
    }
    if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
    for (const key of ["oneOf", "anyOf"]) {
      if (Array.isArray(schema[key])) return schema[key].map((a) => typeName(doc, a)).join(" | ");
    }
    if (Array.isArray(schema.allOf)) return schema.allOf.map((a) => typeName(doc, a)).join(" & ");
    const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
    if (!types.length) return schema.properties ? "object" : "any";
    return types
      .map((t) => {
        if (t === "array") return `array of ${schema.items ? typeName(doc, schema.items) : "any"}`;
        if (t === "null") return "null";
        return schema.format ? `${t} (${schema.format})` : t;
      })
      .join(" | ");
  }

  /** Properties of an object schema as dotted names, following $ref, allOf and arrays. */
  function fields(doc, schema, prefix, depth, out) {
    out = out || [];
    if (depth > MAX_DEPTH) return out;
    const s = unwrapNullable(doc, resolve(doc, schema));
    const { props, required } = objectParts(doc, s);
    for (const [name, prop] of props) {
      const full = prefix ? `${prefix}.${name}` : name;
      const inner = unwrapNullable(doc, resolve(doc, prop));
      out.push({
        name: full,
        type: typeName(doc, prop),
        required: required.has(name),
        description: prop.description || inner.description || "",
      });
      if (objectParts(doc, inner).props.length) fields(doc, inner, full, depth + 1, out);
      else if (inner.items) {
        const items = unwrapNullable(doc, resolve(doc, inner.items));
        if (objectParts(doc, items).props.length) fields(doc, items, `${full}[]`, depth + 1, out);
      }
    }
    return out;
  }

  function exampleOf(content) {
    if (!content) return undefined;
    if (content.example !== undefined) return content.example;
    const ex = content.examples && Object.values(content.examples)[0];
    return ex ? ex.value : undefined;
  }

  function synth(doc, schema, depth) {
    const s = unwrapNullable(doc, resolve(doc, schema));
    if (s.example !== undefined) return s.example;
    if (s.default !== undefined) return s.default;
    if (Array.isArray(s.enum)) return s.enum[0];
    if (depth > MAX_DEPTH) return null;
    const { props } = objectParts(doc, s);
    if (props.length) {
      const o = {};
      for (const [name, prop] of props) o[name] = synth(doc, prop, depth + 1);
      return o;
    }
    const t = Array.isArray(s.type) ? s.type.find((x) => x !== "null") : s.type;
    switch (t) {
      case "string": return s.format === "date-time" ? "2027-01-31T23:59:00Z" : "string";
      case "integer": return 1;
      case "number": return 1.0;
      case "boolean": return true;
      case "array": return [synth(doc, s.items || {}, depth + 1)];
      default: return null;
    }
  }

  function operations(doc) {
    const ops = [];
    for (const [path, item] of Object.entries(doc.paths || {})) {
      for (const method of METHODS) {
        if (item[method]) ops.push({ method, path, op: item[method], item });
      }
    }
    return ops;
  }

  function parameters(doc, o) {
    const out = [];
    for (const p of [...(o.op.parameters || []), ...(o.item.parameters || [])]) {
      const r = resolve(doc, p);
      if (!out.some((q) => q.name === r.name && q.in === r.in)) out.push(r);
    }
    return out;
  }

  function securityAlternatives(doc, op) {
    const reqs = op.security || doc.security || [];
    return reqs.map((alt) => Object.keys(alt));
  }

  function describeScheme(doc, name) {
    const s = ((doc.components || {}).securitySchemes || {})[name] || {};
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
    const s = resolve(doc, p.schema || {});
    const v = p.example !== undefined ? p.example : s.example !== undefined ? s.example : s.default !== undefined ? s.default : synth(doc, s, 0);
    return typeof v === "string" ? v : JSON.stringify(v);
  }

  function curl(doc, o, params) {
    let path = o.path;
    const query = [];
    for (const p of params) {
      const v = paramExample(doc, p);
      if (p.in === "path") path = path.split(`{${p.name}}`).join(v);
      else if (p.in === "query" && (p.required || p.example !== undefined)) query.push(`${p.name}=${v}`);
    }
    const url = `${publicUrl}${path}${query.length ? "?" + query.join("&") : ""}`;
    const lines = [`curl -X ${o.method.toUpperCase()} '${url}'`];
    const first = securityAlternatives(doc, o.op)[0] || [];
    const schemes = (doc.components || {}).securitySchemes || {};
    const bearer = first.find((n) => schemes[n] && schemes[n].type === "http");
    const cookie = first.find((n) => schemes[n] && schemes[n].in === "cookie");
    if (bearer) lines.push('  -H "Authorization: Bearer $LINKDOCK_API_KEY"');
    else if (cookie) {
      lines.push(`  -b "${schemes[cookie].name}=$LINKDOCK_SESSION"`);
      if (!["get", "head", "options"].includes(o.method)) lines.push('  -H "X-CSRF-Token: $LINKDOCK_CSRF_TOKEN"');
    }
    const body = o.op.requestBody ? resolve(doc, o.op.requestBody) : null;
    const entry = body && Object.entries(body.content || {})[0];
    if (entry) {
      const [media, content] = entry;
      if (media.startsWith("multipart/")) {
        for (const f of fields(doc, content.schema || {}, "", 1)) {
          lines.push(`  -F '${f.name}=${f.type.includes("binary") ? "@" + f.name + ".csv" : "…"}'`);
        }
      } else {
        const ex = exampleOf(content);
        const value = ex !== undefined ? ex : synth(doc, content.schema || {}, 0);
        lines.push(`  -H 'Content-Type: ${media}'`);
        lines.push(`  -d '${JSON.stringify(value).replace(/'/g, "'\\''")}'`);
      }
    }
    return lines.join(" \\\n");
  }

  function requestBodyExample(doc, op) {
    const body = op.requestBody ? resolve(doc, op.requestBody) : null;
    const entry = body && Object.entries(body.content || {})[0];
    if (!entry || !entry[0].includes("json")) return undefined;
    const ex = exampleOf(entry[1]);
    return ex !== undefined ? ex : synth(doc, entry[1].schema || {}, 0);
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
        el("td", { text: f.description || "" })));
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

  function pre(cls, text) {
    return el("pre", { class: `code ${cls}` }, el("code", { text }));
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
    if (o.op.description) article.append(el("p", { class: "description", text: o.op.description }));
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
        body.description ? ` · ${body.description}` : ""));
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
        el("td", { text: r.description || "" }),
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

    const exBlock = el("div", { class: "doc-block examples" }, el("h5", { text: "Example request" }), pre("curl", curl(doc, o, params)));
    if (exampleResponse) {
      exBlock.append(el("h5", { text: `Example response (${exampleResponse.code})` }), pre("json", JSON.stringify(exampleResponse.value, null, 2)));
    }
    article.append(exBlock);

    const tryButton = el("button", { type: "button", class: "try-endpoint", "data-method": method, "data-path": o.path, text: "Try in Playground" });
    tryButton.addEventListener("click", () => {
      const event = new CustomEvent("linkdock:try-endpoint", {
        bubbles: true,
        cancelable: true,
        detail: { method, path: o.path, operationId: o.op.operationId || null, body: requestBodyExample(doc, o.op), operation: o.op },
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
          el("span", { class: "group-name", text: tag.name }), " ",
          el("span", { class: "muted count", text: mine.length === 1 ? "1 endpoint" : `${mine.length} endpoints` })));
      if (tag.description) group.append(el("p", { class: "group-description muted", text: tag.description }));
      if (!mine.length) group.append(el("p", { class: "muted none", text: "No endpoints in this group yet." }));
      for (const o of mine) group.append(renderEndpoint(doc, o));
      groupsRoot.append(group);
    }
    announce(status, `${ops.length} endpoints in ${tags.length} groups.`, false);
  }

  async function fetchText(url) {
    const res = await fetch(url, { credentials: "same-origin", cache: "no-store" });
    if (!res.ok) throw new Error(`${url} answered ${res.status}`);
    return res.text();
  }

  async function copyDocument(url, label) {
    try {
      const text = await fetchText(url);
      const ok = await copyText(text);
      announce(status, ok ? `${label} copied to the clipboard.` : `Could not copy ${label}: the browser refused clipboard access.`, !ok);
    } catch (e) {
      announce(status, `Could not copy ${label}: ${e.message}`, true);
    }
  }

  const ready = fetchText("/api/openapi.json").then((text) => ({ text, doc: JSON.parse(text) }));
  window.LinkdockDocs = { ready, operations, resolve, fields, typeName, exampleOf, synth };

  if (!section) return;
  document.getElementById("copy-llms").addEventListener("click", () => copyDocument("/api/llms.txt", "LLM.txt"));
  document.getElementById("copy-openapi").addEventListener("click", () => copyDocument("/api/openapi.json", "openapi.json"));
  ready.then(({ doc }) => render(doc)).catch((e) => announce(status, `The API documentation could not be loaded: ${e.message}`, true));
})();
