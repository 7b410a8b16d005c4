// Owns reading the OpenAPI document: loading /api/openapi.json once per page (one shared
// promise, for the API Documentation and the API Playground alike) and the helpers that read
// it: operations, parameters, request bodies, `$ref`, field lists, type names, examples and
// examples synthesised from a schema. Nothing here renders, and nothing knows an endpoint.

import { getText } from "./common.js";

const METHODS = ["get", "put", "post", "delete", "patch", "options", "head", "trace"];
const MAX_DEPTH = 4;

let loading = null;

/**
 * The served document, fetched on the first call and shared by every later one: resolves to
 * { doc, text } (the parsed document and its text as served). A failed load is retried by the
 * next call.
 */
export function loadDocument() {
  if (!loading) {
    loading = getText("/api/openapi.json").then((text) => ({ text, doc: JSON.parse(text) }));
    loading.catch(() => { loading = null; });
  }
  return loading;
}

/** Follow local `$ref`s ("#/components/..."); {} for nothing, the `$ref` itself when dangling. */
export function resolve(doc, v) {
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

/** `oneOf`/`anyOf` of one schema and `null` → that schema. */
export function unwrapNullable(doc, schema) {
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

/** A schema's type for people: "string (date-time)", "array of object Link", "\"a\" | \"b\"". */
export function typeName(doc, schema) {
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

/**
 * Properties of an object schema as dotted names, following $ref, allOf and arrays:
 * [{ name, type, required, description }].
 */
export function fields(doc, schema, prefix, depth, out) {
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

/** The example a media type object gives (`example`, else the first of `examples`). */
export function exampleOf(content) {
  if (!content) return undefined;
  if (content.example !== undefined) return content.example;
  const ex = content.examples && Object.values(content.examples)[0];
  return ex ? ex.value : undefined;
}

/** A value that fits `schema`, from its examples and defaults where it has them. */
export function synth(doc, schema, depth) {
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

/** Every operation in document order: [{ method (lower case), path, op, item }]. */
export function operations(doc) {
  const ops = [];
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const method of METHODS) {
      if (item[method]) ops.push({ method, path, op: item[method], item });
    }
  }
  return ops;
}

/** An operation's parameters, resolved, its own before its path item's, each name+in once. */
export function parameters(doc, o) {
  const out = [];
  for (const raw of [...(o.op.parameters || []), ...(o.item.parameters || [])]) {
    const p = resolve(doc, raw);
    if (p && p.name && !out.some((q) => q.name === p.name && q.in === p.in)) out.push(p);
  }
  return out;
}

/** A parameter's example value: its own, its schema's example or default, else synthesised. */
export function parameterExample(doc, p) {
  const s = resolve(doc, p.schema || {});
  if (p.example !== undefined) return p.example;
  if (s.example !== undefined) return s.example;
  if (s.default !== undefined) return s.default;
  return synth(doc, s, 0);
}

/**
 * An operation's request body by its first media type, or null when it takes none:
 * { media, content, schema, required, description, example } where `example` (JSON bodies
 * only) is the documented example or one synthesised from the schema.
 */
export function requestBody(doc, op) {
  const body = op.requestBody ? resolve(doc, op.requestBody) : null;
  const entry = body && Object.entries(body.content || {})[0];
  if (!entry) return null;
  const [media, content] = entry;
  const schema = content.schema || {};
  let example;
  if (media.includes("json")) {
    const ex = exampleOf(content);
    example = ex !== undefined ? ex : synth(doc, schema, 0);
  }
  return { media, content, schema, required: !!body.required, description: body.description || "", example };
}

/** The security schemes the document declares, by name. */
export function securitySchemes(doc) {
  return (doc.components || {}).securitySchemes || {};
}

/** An operation's accepted credentials: one list of scheme names per alternative ([] = none). */
export function securityAlternatives(doc, op) {
  const reqs = op.security || doc.security || [];
  return reqs.map((alt) => Object.keys(alt));
}

/** The session cookie's name, as the document declares it. */
export function sessionCookieName(doc) {
  const s = Object.values(securitySchemes(doc)).find((x) => x && x.type === "apiKey" && x.in === "cookie");
  return s ? s.name : "session";
}
