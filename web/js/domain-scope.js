// The "Domain Scope" control of the API key dialog: "All domains", or the domains chosen from
// a checkbox list (with a filter once there are many), shown as chips that remove themselves.
// The markup comes from src/ui/pages/api_keys.rs (domain_scope_field); this module only wires
// it. The value is what the API takes: [] for all domains, or the chosen host names.

import { el } from "./common.js";

/** Above this many domains the list gets a filter. */
const FILTER_FROM = 7;

/**
 * Wire the control under `root` (the fieldset) and return its handle:
 *   setDomains(hosts)  the domains to choose from, listed A to Z (keeps what is chosen and
 *                      still exists)
 *   set(hosts)         show a key's scope ([] = all domains)
 *   value()            [] or the chosen hosts, in list order
 *   restricted()       whether "only the domains I choose" is selected
 *   focus()            move focus to the control
 */
export function domainScope(root) {
  const q = (sel) => root.querySelector(sel);
  const all = q("input[value=all]");
  const some = q("input[value=some]");
  const picker = q(".scope-picker");
  const chips = q(".chips");
  const none = q("[id$=-scope-none]");
  const filterField = q(".scope-filter");
  const filter = filterField.querySelector("input");
  const list = q(".scope-list");
  const empty = q("[id$=-scope-empty]");
  let hosts = [];
  const chosen = new Set();

  const boxId = (host) => `${root.id}-d-${host.replace(/[^a-z0-9-]/gi, "_")}`;

  function renderList() {
    list.replaceChildren(...hosts.map((h) =>
      el("label", { class: "scope-option", for: boxId(h), "data-host": h },
        el("input", { type: "checkbox", id: boxId(h), value: h, checked: chosen.has(h) }),
        ` ${h}`)));
    filterField.hidden = hosts.length < FILTER_FROM;
    applyFilter();
  }

  function applyFilter() {
    const needle = filter.value.trim().toLowerCase();
    let shown = 0;
    for (const option of list.children) {
      const match = !needle || option.dataset.host.includes(needle);
      option.hidden = !match;
      if (match) shown += 1;
    }
    empty.hidden = shown > 0 || !hosts.length;
    empty.textContent = hosts.length ? `No domain matches “${filter.value.trim()}”.` : "";
  }

  function renderChips() {
    const ordered = hosts.filter((h) => chosen.has(h));
    chips.replaceChildren(...ordered.map((h) =>
      el("li", { class: "chip", "data-host": h },
        el("span", { text: h }),
        el("button", { type: "button", class: "chip-remove", "data-remove": h, "aria-label": `Remove ${h} from the scope`, text: "×" }))));
    none.hidden = ordered.length > 0;
  }

  function syncMode() {
    picker.hidden = !some.checked;
    some.disabled = hosts.length === 0 && !some.checked;
  }

  all.addEventListener("change", syncMode);
  some.addEventListener("change", () => {
    syncMode();
    const first = filterField.hidden ? list.querySelector("input") : filter;
    if (some.checked && first) first.focus();
  });
  list.addEventListener("change", (ev) => {
    const box = ev.target.closest("input[type=checkbox]");
    if (!box) return;
    if (box.checked) chosen.add(box.value);
    else chosen.delete(box.value);
    renderChips();
  });
  chips.addEventListener("click", (ev) => {
    const button = ev.target.closest("button[data-remove]");
    if (!button) return;
    const host = button.dataset.remove;
    chosen.delete(host);
    const box = document.getElementById(boxId(host));
    if (box) box.checked = false;
    // Focus stays in the control: the next chip, or the list.
    renderChips();
    const next = chips.querySelector("button") || list.querySelector("input:not([hidden])") || some;
    next.focus();
    root.dispatchEvent(new Event("input", { bubbles: true }));
  });
  filter.addEventListener("input", applyFilter);
  // Enter in the filter must not submit the dialog's form.
  filter.addEventListener("keydown", (ev) => { if (ev.key === "Enter") ev.preventDefault(); });

  return {
    setDomains(next) {
      hosts = next.slice().sort();
      for (const h of Array.from(chosen)) if (!hosts.includes(h)) chosen.delete(h);
      renderList();
      renderChips();
      syncMode();
    },
    set(scope) {
      chosen.clear();
      for (const h of scope || []) chosen.add(h);
      // A host the list does not know (yet) is still shown and kept.
      for (const h of chosen) if (!hosts.includes(h)) hosts.push(h);
      hosts.sort();
      filter.value = "";
      (chosen.size ? some : all).checked = true;
      renderList();
      renderChips();
      syncMode();
    },
    value() {
      return some.checked ? hosts.filter((h) => chosen.has(h)) : [];
    },
    restricted() {
      return some.checked;
    },
    focus() {
      (some.checked ? (list.querySelector("input") || some) : all).focus();
    },
  };
}
