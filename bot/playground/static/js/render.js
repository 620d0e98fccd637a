// Messages as Discord's client draws them: author, content, embeds, attachments, components,
// and the "Only you can see this" line under ephemeral answers.

import { language, t, tNodes } from "./i18n.js";
import { escapeHtml, markdown } from "./markdown.js";

const EPHEMERAL = 1 << 6;
const LOADING = 1 << 7;
const BUTTON_STYLES = { 1: "primary", 2: "secondary", 3: "success", 4: "danger", 5: "link", 6: "primary" };
const PALETTE = ["#5865f2", "#3ba55d", "#faa81a", "#ed4245", "#eb459e", "#747f8d"];

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "html") node.innerHTML = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function avatar(user, size = "") {
  const name = user.global_name || user.username || "?";
  let hash = 0;
  for (const c of String(user.id)) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
  const color = user.bot ? "#5865f2" : PALETTE[hash % PALETTE.length];
  return el("span", { class: `avatar ${size}`, style: `background:${color}`, "aria-hidden": "true" },
    name.slice(0, 1).toUpperCase());
}

// Only web and same-site links are followed (a payload could carry javascript: URLs).
const safeUrl = (url) => (/^(https?:\/\/|\/(?!\/))/i.test(url || "") ? url : "#");

const colorOf = (value) => (value ? `#${value.toString(16).padStart(6, "0")}` : "var(--bg-3)");

function time(iso) {
  const date = new Date(iso);
  const today = new Date().toDateString() === date.toDateString();
  const clock = date.toLocaleTimeString(language(), { hour: "numeric", minute: "2-digit" });
  return today ? t("Today at {time}", { time: clock }) : `${date.toLocaleDateString(language())} ${clock}`;
}

function renderEmbed(embed, ctx) {
  const node = el("div", { class: "embed", style: `border-left-color:${colorOf(embed.color)}` });
  if (embed.author?.name) {
    node.append(el("div", { class: "embed-author" },
      embed.author.icon_url ? el("img", { src: embed.author.icon_url, alt: "" }) : null,
      embed.author.name));
  }
  if (embed.title) {
    const title = el("div", { class: "embed-title", html: markdown(embed.title, ctx, { single: true }) });
    node.append(embed.url ? el("a", { href: safeUrl(embed.url), target: "_blank", rel: "noopener" }, title) : title);
  }
  if (embed.description) {
    node.append(el("div", { class: "embed-description", html: markdown(embed.description, ctx) }));
  }
  if (embed.fields?.length) {
    node.append(el("div", { class: "embed-fields" }, embed.fields.map((field) =>
      el("div", { class: `embed-field${field.inline ? " inline" : ""}` },
        el("div", { class: "embed-field-name", html: markdown(field.name, ctx, { single: true }) }),
        el("div", { class: "embed-field-value", html: markdown(field.value, ctx) })))));
  }
  if (embed.image?.url) {
    node.append(el("div", { class: "embed-image" },
      el("a", { href: safeUrl(embed.image.url), target: "_blank" }, el("img", { src: embed.image.url, alt: "" }))));
  }
  if (embed.thumbnail?.url) {
    node.append(el("div", { class: "embed-thumbnail" }, el("img", { src: embed.thumbnail.url, alt: "" })));
  }
  if (embed.footer?.text || embed.timestamp) {
    const parts = [embed.footer?.text, embed.timestamp ? time(embed.timestamp) : null].filter(Boolean);
    node.append(el("div", { class: "embed-footer" },
      embed.footer?.icon_url ? el("img", { src: embed.footer.icon_url, alt: "" }) : null,
      parts.join(" • ")));
  }
  return node;
}

function renderAttachment(file) {
  const spoiler = file.filename.startsWith("SPOILER_");
  if ((file.content_type || "").startsWith("image/")) {
    const link = el("a", {
      class: `attachment${spoiler ? " spoiler-file" : ""}`, href: safeUrl(file.url), target: "_blank",
      title: file.filename,
    }, el("img", { src: file.url, alt: file.description || file.filename, loading: "lazy",
      width: file.width || undefined, height: file.height || undefined }));
    if (spoiler) {
      link.append(el("span", { class: "spoiler-label" }, "SPOILER"));
      link.addEventListener("click", (event) => {
        if (!link.classList.contains("shown")) {
          event.preventDefault();
          link.classList.add("shown");
        }
      });
    }
    return link;
  }
  return el("a", { class: "file", href: safeUrl(file.url), target: "_blank" }, "📄 ", file.filename,
    el("small", {}, ` ${(file.size / 1024).toFixed(1)} KB`));
}

function renderButton(component, message, ctx) {
  const style = BUTTON_STYLES[component.style] || "secondary";
  const emoji = component.emoji?.name ? `${component.emoji.name} ` : "";
  const label = `${emoji}${component.label || ""}`.trim();
  if (component.style === 5) {
    return el("a", { class: "button link", href: safeUrl(component.url), target: "_blank", rel: "noopener" },
      label, " ↗");
  }
  const button = el("button", {
    type: "button", class: `button ${style}`, disabled: Boolean(component.disabled),
    "data-custom-id": component.custom_id,
  }, label);
  button.addEventListener("click", () => ctx.onComponent(message, component, null, button));
  return button;
}

// A select menu: one choice is sent at once; several are picked, then sent with "Done".
export function renderSelect(component, onPick) {
  const options = component.options || [];
  const min = component.min_values ?? 1;
  const max = Math.min(component.max_values ?? 1, options.length || 1);
  const chosen = new Set(options.filter((o) => o.default).map((o) => o.value));
  const wrap = el("div", { class: "select", "data-custom-id": component.custom_id });
  const box = el("button", { type: "button", class: "select-box", disabled: Boolean(component.disabled) });
  const list = el("div", { class: "select-options", role: "listbox", hidden: true });
  const summary = () => {
    const labels = options.filter((o) => chosen.has(o.value)).map((o) => o.label);
    box.replaceChildren(labels.length
      ? el("span", {}, labels.join(", "))
      : el("span", { class: "placeholder" }, component.placeholder || t("Make a selection")), el("span", {}, "▾"));
  };
  const draw = () => {
    list.replaceChildren(...options.map((option) => {
      const item = el("button", {
        type: "button", class: `select-option${chosen.has(option.value) ? " checked" : ""}`,
        role: "option", "aria-selected": String(chosen.has(option.value)), "data-value": option.value,
      }, max > 1 ? el("input", { type: "checkbox", tabindex: "-1", checked: chosen.has(option.value) }) : null,
      el("span", {}, `${option.emoji?.name ? `${option.emoji.name} ` : ""}${option.label}`,
        option.description ? el("small", {}, option.description) : null));
      item.addEventListener("click", () => {
        if (max === 1) {
          chosen.clear();
          chosen.add(option.value);
          list.hidden = true;
          summary();
          onPick([...chosen], wrap);
          return;
        }
        if (chosen.has(option.value)) chosen.delete(option.value);
        else if (chosen.size < max) chosen.add(option.value);
        draw();
        summary();
      });
      return item;
    }));
    if (max > 1) {
      const done = el("button", { type: "button", class: "select-done" }, t("Done ({min}–{max})", { min, max }));
      done.disabled = chosen.size < min;
      done.addEventListener("click", () => {
        list.hidden = true;
        onPick([...chosen], wrap);
      });
      list.append(done);
    }
  };
  box.addEventListener("click", () => {
    list.hidden = !list.hidden;
    if (!list.hidden) draw();
  });
  summary();
  wrap.append(list, box);
  wrap.values = () => [...chosen];
  return wrap;
}

function renderComponents(components, message, ctx) {
  return components.map((row) => {
    if (row.type !== 1) return null;
    return el("div", { class: "action-row" }, (row.components || []).map((component) => {
      if (component.type === 2) return renderButton(component, message, ctx);
      if (component.type === 3) {
        return renderSelect(component, (values, node) => ctx.onComponent(message, component, values, node));
      }
      return el("span", { class: "button secondary", disabled: true }, t("(unsupported menu)"));
    }));
  });
}

function context(message, ctx) {
  const meta = message.interaction_metadata;
  const command = meta?.type === 5 ? meta.triggering_interaction_metadata : meta;
  if (meta && command?.name && (message.type === 20 || message.type === 23)) {
    const name = command.command_type === 1 ? `/${command.name}` : command.name;
    return el("div", { class: "message-context" }, avatar(meta.user, "tiny"),
      tNodes("{member} used {command}", { member: el("strong", {}, ctx.memberName(meta.user.id)),
        command: el("span", { class: "used" }, name) }));
  }
  const ref = message.message_reference;
  if (ref?.message_id) {
    const original = ctx.message(ref.message_id);
    const who = original ? ctx.memberName(original.author.id) : t("a message");
    const text = original ? (original.content || (original.embeds?.[0]?.title ?? "")).slice(0, 80) : "";
    return el("div", { class: "message-context reply" }, "↱ ", el("strong", {}, who), " ", text);
  }
  return null;
}

// One message as an <li>; `entry` is {message, viewer} from the server.
export function renderMessage(entry, ctx) {
  const message = entry.message;
  const author = message.author;
  const node = el("li", {
    class: `message${message.flags & EPHEMERAL ? " ephemeral" : ""}`,
    "data-message-id": message.id, tabindex: "-1",
  });
  node.append(context(message, ctx) || "");
  node.append(avatar(author));
  const body = el("div", { class: "message-body" });
  body.append(el("div", { class: "message-head" },
    el("span", { class: "author" }, ctx.memberName(author.id, author)),
    author.bot ? el("span", { class: "badge" }, "APP") : null,
    el("span", { class: "timestamp" }, time(message.timestamp)),
    message.edited_timestamp ? el("span", { class: "edited" }, t("(edited)")) : null));
  if (message.flags & LOADING) {
    body.append(el("div", { class: "thinking" },
      t("{member} is thinking…", { member: ctx.memberName(author.id, author) })));
  }
  if (message.content) body.append(el("div", { class: "content", html: markdown(message.content, ctx) }));
  for (const embed of message.embeds || []) body.append(renderEmbed(embed, ctx));
  // Files an embed shows (attachment://) are drawn in the embed only, as Discord does.
  const inEmbeds = new Set((message.embeds || []).flatMap((e) => [e.image?.url, e.thumbnail?.url]));
  const files = (message.attachments || []).filter((file) => !inEmbeds.has(file.url));
  if (files.length) body.append(el("div", { class: "attachments" }, files.map(renderAttachment)));
  body.append(...renderComponents(message.components || [], message, ctx).filter(Boolean));
  if (message.flags & EPHEMERAL) {
    const dismiss = el("button", { type: "button" }, t("Dismiss message"));
    dismiss.addEventListener("click", () => ctx.dismiss(message.id));
    body.append(el("div", { class: "ephemeral-note" }, `👁 ${t("Only you can see this")} • `, dismiss));
  }
  node.append(body);
  if (!(message.flags & EPHEMERAL) && ctx.apps().length) {
    const apps = el("button", { type: "button", class: "apps-button", title: t("Apps") }, t("Apps"));
    apps.addEventListener("click", (event) => ctx.openApps(message, event.currentTarget));
    node.append(el("div", { class: "message-tools" }, apps));
    node.addEventListener("contextmenu", (event) => {
      event.preventDefault();
      ctx.openApps(message, apps);
    });
  }
  node.addEventListener("click", (event) => {
    const spoiler = event.target.closest(".spoiler");
    if (spoiler) spoiler.classList.add("shown");
    const channel = event.target.closest(".channel-mention");
    if (channel) ctx.openChannel(channel.dataset.channel);
  });
  return node;
}

export { escapeHtml };
