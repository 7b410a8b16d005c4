// Swagger UI (/swagger-ui/). Its own initializer starts it at `load`; this module runs
// before that and wraps SwaggerUIBundle, so every request "Try it out" sends with the
// session carries the CSRF token (from common.js, the one place that reads it). A request
// authorized with an API key, or to another origin, is left as it is.

import { sessionHeaders } from "./common.js";

function withSession(req) {
  const sameOrigin = new URL(req.url, window.location.href).origin === window.location.origin;
  const keyed = Object.keys(req.headers || {}).some((h) => h.toLowerCase() === "authorization");
  if (sameOrigin && !keyed) req.headers = Object.assign(req.headers || {}, sessionHeaders(req.method));
  return req;
}

const bundle = window.SwaggerUIBundle;
if (typeof bundle === "function") {
  // The presets and plugins hang off the function: the wrapper keeps them.
  window.SwaggerUIBundle = Object.assign((config) => bundle({ ...config, requestInterceptor: withSession }), bundle);
}

// Swagger's request-body box has no label (axe "label", critical), and neither a setting nor a
// stylesheet can give it one: name each box as Swagger renders it.
new MutationObserver(() => {
  for (const box of document.querySelectorAll(".swagger-ui textarea.body-param__text:not([aria-label])")) {
    box.setAttribute("aria-label", "Request body");
  }
}).observe(document.body, { childList: true, subtree: true });
