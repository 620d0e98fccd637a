// The message box: plain messages with files, or slash commands as Discord's client offers them
// (a picker of the commands you can use here, one field per option with its type, choices and
// the bot's autocomplete, files by picker or drag-and-drop, required options enforced).

import { language, localized, t } from "./i18n.js";
import { el } from "./render.js";

const SUB = 1, GROUP = 2, STRING = 3, INTEGER = 4, BOOLEAN = 5, USER = 6, CHANNEL = 7, ROLE = 8,
  MENTIONABLE = 9, NUMBER = 10, ATTACHMENT = 11;

// Every runnable entry: "/imagine", "/easel settings", "/easel terms add". `path` is what is
// sent; `shown` and `description` are what a Discord client in the page's language shows.
export function flatten(commands) {
  const out = [];
  for (const command of commands) {
    const options = command.options || [];
    const subs = options.filter((o) => o.type === SUB || o.type === GROUP);
    const name = localized(command, "name");
    if (!subs.length) {
      out.push({ command, path: command.name, shown: name, sub: null,
        description: localized(command, "description"), options });
      continue;
    }
    for (const sub of subs) {
      const inner = sub.type === GROUP ? (sub.options || []) : [sub];
      for (const leaf of inner) {
        const sub_ = sub.type === GROUP ? `${sub.name} ${leaf.name}` : leaf.name;
        const shown = sub.type === GROUP ? `${localized(sub, "name")} ${localized(leaf, "name")}`
          : localized(leaf, "name");
        out.push({ command, path: `${command.name} ${sub_}`, shown: `${name} ${shown}`, sub: sub_,
          description: localized(leaf, "description"), options: leaf.options || [] });
      }
    }
  }
  return out.sort((a, b) => a.shown.localeCompare(b.shown, language()));
}

export class Composer {
  constructor(host) {
    this.host = host; // {me, channel, world(), run(entry, values, files), post(text, files), suggest(...)}
    this.form = document.getElementById("composer");
    this.input = document.getElementById("composer-input");
    this.picker = document.getElementById("command-picker");
    this.commandForm = document.getElementById("command-form");
    this.fieldsBox = document.getElementById("option-fields");
    this.moreBox = document.getElementById("option-more");
    this.errorBox = document.getElementById("composer-error");
    this.pendingBox = document.getElementById("pending-files");
    this.entries = [];
    this.matches = [];
    this.selected = 0;
    this.active = null; // {entry, fields: Map(name -> field)}
    this.files = []; // a plain message's files
    this.busy = false;
    this.input.addEventListener("input", () => this.onInput());
    this.input.addEventListener("keydown", (event) => this.onKey(event));
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    document.getElementById("command-cancel").addEventListener("click", () => this.reset());
    document.getElementById("attach-input").addEventListener("change", (event) => {
      this.addFiles([...event.target.files]);
      event.target.value = "";
    });
    this.form.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.active) this.reset();
    });
  }

  setCommands(commands) {
    this.entries = flatten(commands);
    if (this.active && !this.entries.some((e) => e.path === this.active.entry.path)) this.reset();
    if (!this.picker.hidden) this.onInput(); // the picker follows the commands live
  }

  showError(message) {
    this.errorBox.textContent = message || "";
    this.errorBox.hidden = !message;
  }

  // ---------------------------------------------------------------- picking a command
  onInput() {
    this.showError("");
    const text = this.input.value;
    if (this.active || !text.startsWith("/")) {
      this.picker.hidden = true;
      return;
    }
    const typed = text.slice(1).trim().toLowerCase();
    const matching = (path) => path.startsWith(typed) || path.split(" ").some((word) => word.startsWith(typed));
    this.matches = this.entries.filter((e) => matching(e.path) || matching(e.shown.toLowerCase()));
    this.selected = 0;
    this.drawPicker();
  }

  drawPicker() {
    this.picker.hidden = false;
    if (!this.matches.length) {
      this.picker.replaceChildren(el("h3", {}, t("No commands match")));
      return;
    }
    this.picker.replaceChildren(el("h3", {}, t("Commands")), ...this.matches.map((entry, index) => {
      const item = el("button", {
        type: "button", class: `command-entry${index === this.selected ? " selected" : ""}`,
        role: "option", "data-command": entry.path,
      }, el("span", { class: "path" }, `/${entry.shown}`),
      el("span", { class: "description" }, entry.description), el("span", { class: "app" }, "Easel"));
      item.addEventListener("mousedown", (event) => event.preventDefault());
      item.addEventListener("click", () => this.choose(entry));
      return item;
    }));
  }

  onKey(event) {
    if (!this.picker.hidden && this.matches.length) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        const step = event.key === "ArrowDown" ? 1 : -1;
        this.selected = (this.selected + step + this.matches.length) % this.matches.length;
        this.drawPicker();
        return;
      }
      if (event.key === "Enter" || event.key === "Tab") {
        event.preventDefault();
        this.choose(this.matches[this.selected]);
        return;
      }
    }
    if (event.key === "Escape") {
      this.picker.hidden = true;
    }
  }

  choose(entry) {
    this.picker.hidden = true;
    this.input.value = "";
    this.input.placeholder = t("/{command}: fill in the options, then press Enter", { command: entry.shown });
    this.active = { entry, fields: new Map() };
    document.getElementById("command-chip").textContent = `/${entry.shown}`;
    document.getElementById("command-description").textContent = entry.description || "";
    this.commandForm.hidden = false;
    this.pendingBox.hidden = true;
    for (const option of entry.options.filter((o) => o.required)) this.addField(option);
    this.drawMore();
    this.fieldsBox.querySelector(".option-input")?.focus();
  }

  reset() {
    this.active = null;
    this.commandForm.hidden = true;
    this.picker.hidden = true;
    this.fieldsBox.replaceChildren();
    this.moreBox.replaceChildren();
    this.input.value = "";
    this.input.placeholder = t("Message, or / for commands");
    this.pendingBox.hidden = !this.files.length;
    this.showError("");
  }

  drawMore() {
    const { entry, fields } = this.active;
    const optional = entry.options.filter((o) => !o.required && !fields.has(o.name));
    this.moreBox.replaceChildren(optional.length ? t("Optional:") : "", ...optional.map((option) => {
      const add = el("button", { type: "button", "data-add-option": option.name,
        title: localized(option, "description") }, `+ ${localized(option, "name")}`);
      add.addEventListener("click", () => {
        this.addField(option).focus();
        this.drawMore();
      });
      return add;
    }));
  }

  // ---------------------------------------------------------------- one option
  addField(option) {
    const world = this.host.world();
    const wrap = el("label", {
      class: `option-field${option.type === STRING && !option.choices ? " wide" : ""}`,
      "data-option": option.name, title: localized(option, "description"),
    }, el("span", { class: "option-name" }, localized(option, "name"),
      option.required ? el("span", { class: "required-star" }, "*") : null));
    const field = { option, wrap, value: () => "", file: null };
    let control;
    if (option.type === ATTACHMENT) {
      control = this.fileControl(field);
    } else if (option.choices?.length) {
      control = el("select", { class: "option-input" }, el("option", { value: "" }, t("choose…")),
        option.choices.map((c) => el("option", { value: String(c.value) }, localized(c, "name"))));
    } else if (option.type === BOOLEAN) {
      control = el("select", { class: "option-input" }, el("option", { value: "" }, t("choose…")),
        el("option", { value: "true" }, t("True")), el("option", { value: "false" }, t("False")));
    } else if ([USER, CHANNEL, ROLE, MENTIONABLE].includes(option.type)) {
      const items = [];
      if (option.type === USER || option.type === MENTIONABLE) items.push(...world.members.map((m) => [m.id, `@${m.name}`]));
      if (option.type === ROLE || option.type === MENTIONABLE) items.push(...world.roles.map((r) => [r.id, `@${r.name}`]));
      if (option.type === CHANNEL) items.push(...world.channels.map((c) => [c.id, `#${c.name}`]));
      control = el("select", { class: "option-input" }, el("option", { value: "" }, t("choose…")),
        items.map(([id, name]) => el("option", { value: id }, name)));
    } else if (option.type === INTEGER || option.type === NUMBER) {
      control = el("input", { class: "option-input", type: "number", step: option.type === INTEGER ? "1" : "any",
        min: option.min_value ?? undefined, max: option.max_value ?? undefined, inputmode: "numeric" });
    } else {
      control = el("input", { class: "option-input", type: "text",
        maxlength: option.max_length ?? undefined, minlength: option.min_length ?? undefined,
        placeholder: localized(option, "description") });
      if (option.autocomplete) this.suggest(field, control);
    }
    if (option.type !== ATTACHMENT) field.value = () => control.value;
    control.setAttribute?.("data-option-input", option.name);
    control.addEventListener?.("keydown", (event) => {
      if (event.key === "Enter" && !field.menuOpen) {
        event.preventDefault();
        this.submit();
      }
    });
    wrap.append(control);
    wrap.addEventListener("input", () => {
      wrap.classList.remove("invalid");
      wrap.querySelector(".option-error")?.remove();
    });
    if (!option.required) {
      const remove = el("button", { type: "button", class: "option-remove",
        title: t("Remove {option}", { option: localized(option, "name") }) }, "×");
      remove.addEventListener("click", (event) => {
        event.preventDefault();
        wrap.remove();
        this.active.fields.delete(option.name);
        this.drawMore();
      });
      wrap.append(remove);
    }
    this.active.fields.set(option.name, field);
    this.fieldsBox.append(wrap);
    return control;
  }

  fileControl(field) {
    const input = el("input", { type: "file", hidden: true, accept: "image/*" });
    const shown = el("span", { class: "file-option", tabindex: "0", role: "button" }, t("Choose a file or drop one here"));
    const take = (file) => {
      field.file = file;
      const preview = file.type.startsWith("image/") ? el("img", { src: URL.createObjectURL(file), alt: "" }) : null;
      shown.replaceChildren(preview || "", file.name);
      field.wrap.classList.remove("invalid");
    };
    field.take = take;
    input.addEventListener("change", () => input.files[0] && take(input.files[0]));
    shown.addEventListener("click", () => input.click());
    shown.addEventListener("keydown", (event) => event.key === "Enter" && input.click());
    for (const kind of ["dragenter", "dragover"]) {
      shown.addEventListener(kind, (event) => {
        event.preventDefault();
        event.stopPropagation();
        shown.classList.add("drag-over");
      });
    }
    shown.addEventListener("dragleave", () => shown.classList.remove("drag-over"));
    shown.addEventListener("drop", (event) => {
      event.preventDefault();
      event.stopPropagation();
      shown.classList.remove("drag-over");
      if (event.dataTransfer.files[0]) take(event.dataTransfer.files[0]);
    });
    field.value = () => (field.file ? field.file.name : "");
    return el("span", {}, input, shown);
  }

  // The bot's suggestions while typing (Discord asks it on each change of the focused option).
  suggest(field, control) {
    const box = el("div", { class: "suggestions", role: "listbox", hidden: true });
    let timer = null;
    let choices = [];
    let index = -1;
    const draw = () => {
      box.hidden = false;
      field.menuOpen = true;
      box.replaceChildren(...(choices.length ? choices.map((choice, i) => {
        const item = el("button", { type: "button", class: `suggestion${i === index ? " selected" : ""}`,
          "data-value": String(choice.value) }, choice.name);
        item.addEventListener("mousedown", (event) => {
          event.preventDefault();
          pick(choice);
        });
        return item;
      }) : [el("div", { class: "empty" }, t("No suggestions"))]));
    };
    const close = () => {
      box.hidden = true;
      field.menuOpen = false;
    };
    const pick = (choice) => {
      control.value = String(choice.value);
      close();
    };
    const ask = () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        try {
          const typed = { ...this.rawValues(), [field.option.name]: control.value };
          choices = await this.host.suggest(this.active.entry, typed, field.option.name);
        } catch (error) {
          choices = [];
          this.showError(error.message);
        }
        index = -1;
        if (document.activeElement === control) draw();
      }, 150);
    };
    control.addEventListener("focus", ask);
    control.addEventListener("input", ask);
    control.addEventListener("blur", () => setTimeout(close, 100));
    control.addEventListener("keydown", (event) => {
      if (box.hidden || !choices.length) return;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        index = (index + (event.key === "ArrowDown" ? 1 : -1) + choices.length) % choices.length;
        draw();
      } else if (event.key === "Enter" && index >= 0) {
        event.preventDefault();
        pick(choices[index]);
      } else if (event.key === "Escape") {
        event.stopPropagation();
        close();
      }
    });
    field.wrap.append(box);
  }

  rawValues() {
    const values = {};
    for (const [name, field] of this.active.fields) {
      if (field.option.type !== ATTACHMENT && field.value() !== "") values[name] = field.value();
    }
    return values;
  }

  // ---------------------------------------------------------------- files
  // Files from the picker or a drop: into the command's file options, else the message.
  addFiles(files) {
    if (!files.length) return;
    if (this.active) {
      const { entry, fields } = this.active;
      for (const file of files) {
        let field = [...fields.values()].find((f) => f.option.type === ATTACHMENT && !f.file);
        if (!field) {
          const next = entry.options.find((o) => o.type === ATTACHMENT && !fields.has(o.name));
          if (!next) {
            this.showError(t("/{command} takes no more files.", { command: entry.shown }));
            break;
          }
          this.addField(next);
          field = fields.get(next.name);
        }
        field.take(file);
      }
      this.drawMore();
      return;
    }
    this.files.push(...files);
    this.drawPending();
  }

  drawPending() {
    this.pendingBox.hidden = !this.files.length;
    this.pendingBox.replaceChildren(...this.files.map((file, index) => {
      const remove = el("button", { type: "button", title: t("Remove") }, "×");
      remove.addEventListener("click", () => {
        this.files.splice(index, 1);
        this.drawPending();
      });
      return el("span", { class: "pending-file" },
        file.type.startsWith("image/") ? el("img", { src: URL.createObjectURL(file), alt: "" }) : null,
        file.name, remove);
    }));
  }

  // ---------------------------------------------------------------- sending
  check() {
    let first = null;
    for (const field of this.active.fields.values()) {
      field.wrap.querySelector(".option-error")?.remove();
      const control = field.wrap.querySelector(".option-input");
      let problem = null;
      if (field.option.required && field.value() === "") problem = t("This field is required.");
      else if (control && control.validity && !control.validity.valid) problem = control.validationMessage;
      field.wrap.classList.toggle("invalid", Boolean(problem));
      if (problem) {
        field.wrap.append(el("span", { class: "option-error" }, problem));
        first ??= field;
      }
    }
    if (first) {
      (first.wrap.querySelector(".option-input, .file-option") || first.wrap).focus();
      this.showError(t("Fill in {option}: {problem}", { option: localized(first.option, "name"),
        problem: first.wrap.querySelector(".option-error").textContent }));
    }
    return !first;
  }

  async submit() {
    if (this.busy) return;
    if (!this.active && this.input.value.startsWith("/") && !this.picker.hidden && this.matches.length) {
      this.choose(this.matches[this.selected]);
      return;
    }
    this.busy = true;
    try {
      if (this.active) {
        if (!this.check()) return;
        const files = [...this.active.fields.values()].filter((f) => f.file).map((f) => [f.option.name, f.file]);
        await this.host.run(this.active.entry, this.rawValues(), files);
        this.reset();
      } else {
        const text = this.input.value;
        if (!text.trim() && !this.files.length) return;
        await this.host.post(text, this.files);
        this.files = [];
        this.drawPending();
        this.input.value = "";
      }
      this.showError("");
    } catch (error) {
      this.showError(error.message);
    } finally {
      this.busy = false;
    }
  }
}
