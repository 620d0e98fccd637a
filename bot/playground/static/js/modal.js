// Modals (forms) the bot opens: labelled text inputs and select menus, checked as Discord's
// client checks them (required fields, lengths, how many choices) before anything is sent.

import { t } from "./i18n.js";
import { el } from "./render.js";
import { markdown } from "./markdown.js";

// The fields of a modal, in order: each with its input and how to read and check it.
function fields(components) {
  const out = [];
  for (const component of components || []) {
    if (component.type === 18) {
      out.push({ label: component.label, description: component.description, input: component.component });
    } else if (component.type === 1) {
      for (const input of component.components || []) out.push({ label: input.label, input });
    } else if (component.type === 10) {
      out.push({ text: component.content });
    } else if (component.type === 4 || component.type === 3) {
      out.push({ label: component.label, input: component });
    }
  }
  return out;
}

function textInput(input, id) {
  const attrs = {
    id, name: input.custom_id, placeholder: input.placeholder || undefined,
    minlength: input.min_length ?? undefined, maxlength: input.max_length ?? undefined,
    "data-custom-id": input.custom_id,
  };
  const node = input.style === 2 ? el("textarea", attrs) : el("input", { type: "text", ...attrs });
  node.value = input.value || "";
  return {
    node,
    value: () => node.value,
    problem: (required) => {
      const length = node.value.length;
      if (required && !length) return t("This field is required.");
      if (length && input.min_length && length < input.min_length) {
        return t("Too short: the minimum length is {count}.", { count: input.min_length });
      }
      return null;
    },
  };
}

function choiceInput(input, id) {
  const max = Math.min(input.max_values ?? 1, (input.options || []).length || 1);
  const min = input.min_values ?? 1;
  const kind = max > 1 ? "checkbox" : "radio";
  const list = el("div", { class: "choice-list", id, role: "group", "data-custom-id": input.custom_id },
    (input.options || []).map((option) => el("label", { class: "choice" },
      el("input", { type: kind, name: input.custom_id, value: option.value, checked: Boolean(option.default) }),
      el("span", {}, `${option.emoji?.name ? `${option.emoji.name} ` : ""}${option.label}`,
        option.description ? el("small", {}, option.description) : null))));
  if (kind === "checkbox") {
    list.addEventListener("change", () => {
      const boxes = [...list.querySelectorAll("input:checked")];
      for (const box of list.querySelectorAll("input")) box.disabled = !box.checked && boxes.length >= max;
    });
  }
  const value = () => [...list.querySelectorAll("input:checked")].map((box) => box.value);
  return {
    node: list,
    value,
    problem: (required) => {
      const count = value().length;
      if (required && count < Math.max(min, 1)) return t("Pick at least one.");
      if (count && count < min) return t("Pick at least {count}.", { count: min });
      return null;
    },
  };
}

// Open `modal` (the bot's type-9 answer); `submit(fields)` sends it and resolves to an error
// message to show, or null when the form was accepted. `ctx` names mentions in text.
export function openModal(modal, submit, ctx) {
  const root = document.getElementById("overlay-root");
  const parts = [];
  const body = el("div", { class: "modal-body" });
  fields(modal.components).forEach((field, index) => {
    if (field.text) {
      body.append(el("div", { class: "modal-text", html: markdown(field.text, ctx) }));
      return;
    }
    const id = `modal-field-${index}`;
    const input = field.input;
    if (input.type !== 4 && input.type !== 3) {
      body.append(el("div", { class: "modal-field" }, el("label", {}, field.label || input.custom_id),
        el("div", { class: "description" }, t("This kind of field is not drawn in the playground."))));
      return;
    }
    const control = input.type === 4 ? textInput(input, id) : choiceInput(input, id);
    const required = input.required ?? true;
    const wrap = el("div", { class: "modal-field", "data-custom-id": input.custom_id },
      el("label", { for: id }, field.label || input.custom_id,
        required ? el("span", { class: "required-star" }, " *") : null),
      field.description ? el("div", { class: "description" }, field.description) : null,
      control.node);
    wrap.addEventListener("input", () => {
      wrap.classList.remove("invalid");
      wrap.querySelector(".field-error")?.remove();
    });
    parts.push({ input, control, required, wrap });
    body.append(wrap);
  });
  const error = el("span", { class: "modal-error", role: "alert" });
  const cancel = el("button", { type: "button", class: "cancel" }, t("Cancel"));
  const send = el("button", { type: "submit", class: "submit" }, t("Submit"));
  const close = () => overlay.remove();
  const form = el("form", { class: "modal", role: "dialog", "aria-modal": "true", "aria-label": modal.title,
    novalidate: true },
    el("header", { class: "modal-head" }, el("h2", {}, modal.title),
      el("button", { type: "button", class: "close", "aria-label": t("Close"), onclick: close }, "×")),
    body,
    el("footer", { class: "modal-foot" }, error, cancel, send));
  const overlay = el("div", { class: "overlay" }, form);
  cancel.addEventListener("click", close);
  overlay.addEventListener("keydown", (event) => {
    if (event.key === "Escape") close();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let ok = true;
    const values = {};
    for (const part of parts) {
      part.wrap.querySelector(".field-error")?.remove();
      const problem = part.control.problem(part.required);
      part.wrap.classList.toggle("invalid", Boolean(problem));
      if (problem) {
        ok = false;
        part.wrap.append(el("div", { class: "field-error" }, problem));
      }
      values[part.input.custom_id] = part.control.value();
    }
    if (!ok) return;
    send.disabled = true;
    error.textContent = "";
    const problem = await submit(values);
    send.disabled = false;
    if (problem) error.textContent = problem;
    else close();
  });
  root.append(overlay);
  (form.querySelector("textarea, input[type=text], input") || send).focus();
  return overlay;
}
