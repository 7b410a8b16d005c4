// Swagger UI (/swagger-ui/): starts it with the server's settings (`data-config`, from
// `docs::swagger_config`), so that every request "Try it out" sends with the session carries
// the CSRF token (from common.js, the one place that reads it). A request authorized with an
// API key, or to another origin, is left as it is.

import { sessionHeaders } from "./common.js";

function withSession(req) {
  const sameOrigin = new URL(req.url, window.location.href).origin === window.location.origin;
  const keyed = Object.keys(req.headers || {}).some((h) => h.toLowerCase() === "authorization");
  if (sameOrigin && !keyed) req.headers = Object.assign(req.headers || {}, sessionHeaders(req.method));
  return req;
}

const root = document.getElementById("swagger-ui");
const bundle = window.SwaggerUIBundle;
if (root && typeof bundle === "function") {
  bundle({
    ...JSON.parse(root.dataset.config || "{}"),
    domNode: root,
    presets: [bundle.presets.apis],
    requestInterceptor: withSession,
  });
}

// Swagger's request-body box and its Servers list have no label (axe "label" and "select-name",
// critical), and neither a setting nor a stylesheet can give them one: name each as Swagger
// renders it.
const unnamed = [
  [".swagger-ui textarea.body-param__text:not([aria-label])", "Request body"],
  [".swagger-ui select#servers:not([aria-label])", "Server"],
];
new MutationObserver(() => {
  for (const [selector, name] of unnamed) {
    for (const el of document.querySelectorAll(selector)) el.setAttribute("aria-label", name);
  }
}).observe(document.body, { childList: true, subtree: true });
