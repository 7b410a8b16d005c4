// A code sample block: one request (a snippets.js model) written in the language the reader
// picks — cURL, Python, JavaScript or Go — with a "Copy" button. Picking a language in one
// block picks it in every block of the page. Used by the API Documentation (each endpoint's
// example) and the API Playground (the request being built).

import { COPY_BY_HAND, announce, copyText, el } from "./common.js";
import { LANGUAGES } from "./snippets.js";

let chosen = LANGUAGES[0].id;
const blocks = new Set();

/**
 * A block for `model`, labelled `label` ("Example request"): language buttons, the code in a
 * keyboard-reachable <pre>, "Copy" and a status line. `block.update(model)` rewrites it.
 */
export function codeSamples(model, label) {
  const pre = el("pre", { class: "code sample", tabindex: "0" }, el("code"));
  const status = el("p", { class: "status sample-status", role: "status", "aria-live": "polite" });
  const copy = el("button", { type: "button", class: "sample-copy", text: "Copy" });
  const langs = el("div", { class: "sample-langs", role: "group", "aria-label": `${label}: language` },
    LANGUAGES.map((l) => el("button", { type: "button", "data-lang": l.id, "aria-pressed": "false", text: l.label })));
  const block = el("div", { class: "code-samples", "data-lang": chosen },
    el("div", { class: "sample-bar" }, langs, copy), pre, status);
  let current = model;

  block.render = () => {
    const lang = LANGUAGES.find((l) => l.id === chosen) || LANGUAGES[0];
    block.dataset.lang = lang.id;
    pre.className = `code sample ${lang.id}`;
    pre.setAttribute("aria-label", `${label} in ${lang.label}`);
    pre.firstChild.textContent = current ? lang.write(current) : "";
    copy.setAttribute("aria-label", `Copy the ${label.toLowerCase()} in ${lang.label}`);
    for (const b of langs.children) b.setAttribute("aria-pressed", String(b.dataset.lang === lang.id));
  };
  block.update = (next) => {
    current = next;
    block.render();
  };

  langs.addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-lang]");
    if (!b) return;
    chosen = b.dataset.lang;
    for (const other of blocks) {
      if (other.isConnected) other.render();
      else blocks.delete(other);
    }
  });
  copy.addEventListener("click", async () => {
    const lang = LANGUAGES.find((l) => l.id === chosen) || LANGUAGES[0];
    const ok = await copyText(pre.textContent, copy);
    announce(status, ok ? `${lang.label} copied.` : COPY_BY_HAND, !ok);
  });

  blocks.add(block);
  block.render();
  return block;
}

/** A "Copy" button for a <pre> of text (an example response), with its status line. */
export function copyablePre(pre, label) {
  pre.setAttribute("tabindex", "0");
  pre.setAttribute("aria-label", label);
  const status = el("p", { class: "status sample-status", role: "status", "aria-live": "polite" });
  const copy = el("button", { type: "button", class: "sample-copy", text: "Copy", "aria-label": `Copy the ${label.toLowerCase()}` });
  copy.addEventListener("click", async () => {
    const ok = await copyText(pre.textContent, copy);
    announce(status, ok ? "Copied." : COPY_BY_HAND, !ok);
  });
  return el("div", { class: "code-samples" }, el("div", { class: "sample-bar" }, el("span", { class: "spacer" }), copy), pre, status);
}
