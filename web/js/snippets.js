// Owns code samples of one HTTP request: the request model below and one function per language
// that writes it out (today `curl`). The API Documentation's examples and the API Playground's
// "Copy cURL" both describe their request as a model and hand it here; samples in other
// languages (Python, JavaScript, Go) are to be sibling functions over the same model.
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
