// The page's language: the playground member's Discord client language. Picked in the sidebar
// (remembered in this browser), else the browser's own mapped to the nearest shipped one. The
// server sends the page's words from Easel's gettext catalogs; the English sentence is the key,
// so a missing translation shows the English. Every request then carries the language as
// Accept-Language, and the server makes the member's interactions carry it as their `locale`.

const STORE = "easel.playground.language";
let current = { locale: "en-US", languages: [], strings: {} };

export const language = () => current.locale;
export const languages = () => current.languages;

// `text` in the page's language, `{name}` placeholders filled from `values`.
export function t(text, values = {}) {
  return tNodes(text, values).join("");
}

// Like `t`, but a value may be a DOM node (a <code>, a <strong>): a list of strings and nodes.
export function tNodes(text, values = {}) {
  const template = current.strings[text] || text;
  const out = [];
  let last = 0;
  for (const match of template.matchAll(/\{(\w+)\}/g)) {
    out.push(template.slice(last, match.index));
    out.push(match[1] in values ? values[match[1]] : match[0]);
    last = match.index + match[0].length;
  }
  out.push(template.slice(last));
  return out.filter((part) => part !== "").map((part) => (part instanceof Node ? part : String(part)));
}

// A command's, option's or choice's `name` or `description` as a Discord client in this
// language shows it (its `*_localizations`, else the default).
export function localized(item, field) {
  return item?.[`${field}_localizations`]?.[current.locale] || item?.[field] || "";
}

// Ask the server for a language: the stored choice, else the browser's languages in order.
export async function loadLanguage(wanted) {
  const asked = wanted || localStorage.getItem(STORE) || (navigator.languages || [navigator.language]).join(",");
  const response = await fetch(`/api/i18n?want=${encodeURIComponent(asked)}`, {
    headers: { Accept: "application/json" },
  });
  if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
  current = await response.json();
  if (wanted) localStorage.setItem(STORE, current.locale);
  document.documentElement.lang = current.locale;
  translatePage();
  return current.locale;
}

// The static page: `data-i18n` is an element's text; `data-i18n-<attribute>` an attribute's.
export function translatePage(root = document) {
  for (const node of root.querySelectorAll("[data-i18n]")) {
    const values = node.dataset.command ? { command: codeOf(node.dataset.command) } : {};
    node.replaceChildren(...tNodes(node.dataset.i18n, values));
  }
  for (const attribute of ["placeholder", "title", "aria-label"]) {
    for (const node of root.querySelectorAll(`[data-i18n-${attribute}]`)) {
      node.setAttribute(attribute, t(node.getAttribute(`data-i18n-${attribute}`)));
    }
  }
}

function codeOf(text) {
  const code = document.createElement("code");
  code.textContent = text;
  return code;
}
