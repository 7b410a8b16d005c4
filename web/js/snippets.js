// Owns code samples of one HTTP request: the request model below and one function per language
// that writes it out: `curl` (a shell command), `python` (requests), `javascript` (fetch, for
// Node.js 18+ as an ES module) and `go` (net/http). The API Documentation's examples and the
// API Playground both describe their request as a model and hand it here; LANGUAGES lists the
// writers for the pages that offer a choice.
//
// The request model is a plain object:
//   {
//     method:  "POST",
//     url:     "https://links.example.com/api/v1/links",      // complete, already encoded
//     headers: [["Content-Type", "application/json"], ...],    // in order; values below
//     body:    '{"slug": "x"}' | null,                          // sent as is
//     file:    { field: "file", name: "links.csv" },           // optional: multipart upload
//   }
// A header value is a string, or, when the reader supplies part of it (an API key, a session),
// a list of parts: literal strings and env(NAME) markers, e.g. ["Bearer ", env("LINKDOCK_API_KEY")].
// Each language reads NAME from the environment its own way; cURL as a shell variable.

/** A part of a header value that the reader supplies through the environment variable `name`. */
export const env = (name) => ({ env: name });

/** `s` as one shell word in single quotes: nothing inside is expanded. */
export function shellQuote(s) {
  return `'${String(s).replace(/'/g, "'\\''")}'`;
}

/** The request as a cURL command line, one option per line. */
export function curl(req) {
  const method = /^[A-Za-z]+$/.test(req.method) ? req.method : shellQuote(req.method);
  const lines = [`curl -X ${method} ${shellQuote(req.url)}`];
  for (const [name, value] of req.headers || []) {
    if (name.toLowerCase() === "cookie") lines.push(`  -b ${shellWord(parts(value))}`);
    else lines.push(`  -H ${shellWord([`${name}: `, ...parts(value)])}`);
  }
  if (req.body !== null && req.body !== undefined) {
    // --data would read a file for a body starting with "@"; --data-raw never does.
    const flag = String(req.body).startsWith("@") ? "--data-raw" : "--data";
    lines.push(`  ${flag} ${shellQuote(req.body)}`);
  }
  if (req.file) lines.push(`  -F ${shellQuote(`${req.file.field}=@${curlFormFileName(req.file.name)}`)}`);
  return lines.join(" \\\n");
}

/** The languages a request can be written in, in the order pages offer them. */
export const LANGUAGES = [
  { id: "curl", label: "cURL", write: curl },
  { id: "python", label: "Python", write: python },
  { id: "javascript", label: "JavaScript", write: javascript },
  { id: "go", label: "Go", write: go },
];

/** The request as a Python script using `requests`; it prints the status and the body. */
export function python(req) {
  const lines = ["import os", "", "import requests", ""];
  const args = [`    ${JSON.stringify(req.method)},`, `    ${JSON.stringify(req.url)},`];
  const headers = (req.headers || []).filter(([name]) => !(req.file && name.toLowerCase() === "content-type"));
  if (headers.length) {
    args.push("    headers={");
    for (const [name, value] of headers) args.push(`        ${JSON.stringify(name)}: ${joined(value, pyEnv)},`);
    args.push("    },");
  }
  if (req.body !== null && req.body !== undefined) args.push(`    data=${JSON.stringify(String(req.body))}.encode("utf-8"),`);
  if (req.file) args.push(`    files={${JSON.stringify(req.file.field)}: (${JSON.stringify(req.file.name)}, open(${JSON.stringify(req.file.name)}, "rb"))},`);
  args.push("    timeout=30,");
  lines.push("response = requests.request(", ...args, ")", "print(response.status_code)", "print(response.text)");
  return lines.join("\n");
}

/** The request as JavaScript with `fetch` (Node.js 18+, an ES module); prints status and body. */
export function javascript(req) {
  const lines = [];
  if (req.file) {
    lines.push('import { readFile } from "node:fs/promises";', "");
    lines.push("const form = new FormData();");
    lines.push(`form.append(${JSON.stringify(req.file.field)}, new Blob([await readFile(${JSON.stringify(req.file.name)})]), ${JSON.stringify(req.file.name)});`, "");
  }
  const init = [`  method: ${JSON.stringify(req.method)},`];
  const headers = (req.headers || []).filter(([name]) => !(req.file && name.toLowerCase() === "content-type"));
  if (headers.length) {
    init.push("  headers: {");
    for (const [name, value] of headers) init.push(`    ${JSON.stringify(name)}: ${joined(value, jsEnv)},`);
    init.push("  },");
  }
  if (req.body !== null && req.body !== undefined) init.push(`  body: ${JSON.stringify(String(req.body))},`);
  else if (req.file) init.push("  body: form,");
  lines.push(`const response = await fetch(${JSON.stringify(req.url)}, {`, ...init, "});");
  lines.push("console.log(response.status);", "console.log(await response.text());");
  return lines.join("\n");
}

/** The request as a Go program using net/http; it prints the status and the body. */
export function go(req) {
  const imports = new Set(["fmt", "io", "net/http"]);
  const body = [];
  let reader = "nil";
  if (req.body !== null && req.body !== undefined) {
    imports.add("strings");
    reader = `strings.NewReader(${goString(req.body)})`;
  } else if (req.file) {
    imports.add("bytes").add("mime/multipart").add("os");
    body.push(
      "\tvar buf bytes.Buffer",
      "\tform := multipart.NewWriter(&buf)",
      `\tpart, err := form.CreateFormFile(${goString(req.file.field)}, ${goString(req.file.name)})`,
      "\tif err != nil {", "\t\tpanic(err)", "\t}",
      `\tfile, err := os.Open(${goString(req.file.name)})`,
      "\tif err != nil {", "\t\tpanic(err)", "\t}",
      "\tdefer file.Close()",
      "\tif _, err := io.Copy(part, file); err != nil {", "\t\tpanic(err)", "\t}",
      "\tif err := form.Close(); err != nil {", "\t\tpanic(err)", "\t}",
    );
    reader = "&buf";
  }
  body.push(
    `\treq, err := http.NewRequest(${goString(req.method)}, ${goString(req.url)}, ${reader})`,
    "\tif err != nil {", "\t\tpanic(err)", "\t}",
  );
  for (const [name, value] of req.headers || []) {
    if (req.file && name.toLowerCase() === "content-type") continue;
    if (parts(value).some((p) => typeof p === "object" && p !== null)) imports.add("os");
    body.push(`\treq.Header.Set(${goString(name)}, ${joined(value, goEnv, goString)})`);
  }
  if (req.file) body.push('\treq.Header.Set("Content-Type", form.FormDataContentType())');
  body.push(
    "\tres, err := http.DefaultClient.Do(req)",
    "\tif err != nil {", "\t\tpanic(err)", "\t}",
    "\tdefer res.Body.Close()",
    "\tout, err := io.ReadAll(res.Body)",
    "\tif err != nil {", "\t\tpanic(err)", "\t}",
    "\tfmt.Println(res.StatusCode)",
    "\tfmt.Println(string(out))",
  );
  const sorted = Array.from(imports).sort();
  return ["package main", "", "import (", ...sorted.map((i) => `\t"${i}"`), ")", "", "func main() {", ...body, "}"].join("\n");
}

// ---- string literals ------------------------------------------------------------------------

const pyEnv = (name) => `os.environ[${JSON.stringify(name)}]`;
const jsEnv = (name) => `process.env.${/^[A-Za-z_$][\w$]*$/.test(name) ? name : `[${JSON.stringify(name)}]`}`;
const goEnv = (name) => `os.Getenv(${goString(name)})`;

/** Literal parts and env(NAME) parts as one expression: "Bearer " + <env NAME>. */
function joined(value, envExpr, quote) {
  const q = quote || ((t) => JSON.stringify(t));
  const list = [];
  for (const p of parts(value)) {
    const literal = typeof p !== "object" || p === null;
    if (literal && list.length && typeof list[list.length - 1] === "string") list[list.length - 1] += String(p);
    else list.push(literal ? String(p) : p);
  }
  return list.map((p) => (typeof p === "string" ? q(p) : envExpr(p.env))).join(" + ") || q("");
}

/** A Go interpreted string literal (JSON's escapes are Go's, but for lone surrogates). */
function goString(s) {
  return JSON.stringify(String(s)).replace(/\\u(d[89a-f][0-9a-f]{2})/gi, "\\ufffd");
}

// ---- shell ----------------------------------------------------------------------------------

const parts = (value) => (Array.isArray(value) ? value : [value]);

/**
 * Literal parts and env(NAME) parts as one shell word. Literals only: single quotes. With a
 * variable: double quotes ("Bearer $LINKDOCK_API_KEY"), or, when a literal holds a `!` that
 * interactive shells would expand even there, single-quoted literals joined to "$NAME".
 */
function shellWord(value) {
  const literal = (p) => typeof p !== "object" || p === null;
  const list = []; // adjacent literals joined
  for (const p of value) {
    if (literal(p) && list.length && literal(list[list.length - 1])) list[list.length - 1] += String(p);
    else list.push(literal(p) ? String(p) : p);
  }
  if (list.every(literal)) return shellQuote(list.join(""));
  const varRef = (name, next) => (typeof next === "string" && /^[A-Za-z0-9_]/.test(next) ? `\${${name}}` : `$${name}`);
  if (list.some((p) => literal(p) && String(p).includes("!"))) {
    return list
      .map((p, i) => (literal(p) ? shellQuote(p) : `"${varRef(p.env, list[i + 1])}"`))
      .join("");
  }
  const inner = list
    .map((p, i) => (literal(p) ? p.replace(/[\\"$`]/g, "\\$&") : varRef(p.env, list[i + 1])))
    .join("");
  return `"${inner}"`;
}

/** A file name as curl's -F reads it: double-quoted (with \ escapes) when it holds ; , " or \. */
function curlFormFileName(name) {
  const s = String(name);
  return /[;,"\\]/.test(s) ? `"${s.replace(/[\\"]/g, "\\$&")}"` : s;
}
