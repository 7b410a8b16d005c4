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

// Swagger's request-body box has no label (axe "label", critical), and neither a setting nor a
// stylesheet can give it one: name each box as Swagger renders it.
new MutationObserver(() => {
  for (const box of document.querySelectorAll(".swagger-ui textarea.body-param__text:not([aria-label])")) {
    box.setAttribute("aria-label", "Request body");
  }
}).observe(document.body, { childList: true, subtree: true });
