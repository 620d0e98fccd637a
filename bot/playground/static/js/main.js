// The playground page: one local Discord server seen as one member at a time (?as=alice),
// kept live over a WebSocket.

import * as api from "./api.js";
import { ActivityPanel } from "./activity.js";
import { Composer } from "./composer.js";
import { language, languages, loadLanguage, t } from "./i18n.js";
import { openModal } from "./modal.js";
import { refreshRelativeTimes } from "./markdown.js";
import { avatar, el, renderMessage } from "./render.js";

const params = new URLSearchParams(location.search);
const page = {
  as: params.get("as") || "alice",
  channelId: params.get("channel"),
  state: null,
  messages: new Map(), // id -> {message, viewer}
  apps: [],
  dismissed: new Set(),
  unread: new Set(),
};

const byId = (list, id) => list.find((item) => item.id === id);
const list = document.getElementById("messages");

const ctx = {
  memberName(id, author) {
    const member = page.state && byId(page.state.members, String(id));
    return member ? member.name : author?.global_name || author?.username || t("Unknown");
  },
  roleName: (id) => byId(page.state?.roles || [], String(id))?.name || t("deleted-role"),
  channelName: (id) => byId(page.state?.channels || [], String(id))?.name || t("unknown-channel"),
  message: (id) => page.messages.get(String(id))?.message,
  apps: () => page.apps,
  dismiss(id) {
    page.dismissed.add(id);
    list.querySelector(`[data-message-id="${id}"]`)?.remove();
  },
  openChannel(id) {
    if (byId(page.state.channels, id)) selectChannel(id);
  },
  onComponent: press,
  openApps,
};

const activity = new ActivityPanel();
const composer = new Composer({
  world: () => page.state,
  run: async (entry, values, files) => {
    const payload = { as: page.as, channel: page.channelId, name: entry.command.name,
      subcommand: entry.sub, options: values };
    const parts = files.map(([option, file]) => [`file:${option}`, file]);
    answered(await api.postFiles("/api/commands", payload, parts), true);
  },
  post: (content, files) =>
    api.postFiles("/api/messages", { as: page.as, channel: page.channelId, content },
      files.map((file) => ["files", file])),
  suggest: async (entry, values, focused) => (await api.post("/api/autocomplete", {
    as: page.as, channel: page.channelId, name: entry.command.name, subcommand: entry.sub,
    options: values, focused,
  })).choices,
});

// What the client does with the bot's first answer: open its form, or say it failed.
function answered(result, fromComposer = false) {
  if (result.modal) {
    openModal(result.modal, async (fields) => {
      try {
        const next = await api.post("/api/modals", { as: page.as, interaction: result.interaction, fields });
        if (next.modal) answered(next);
        return next.answered ? null : next.error;
      } catch (error) {
        return error.message;
      }
    }, ctx);
  }
  if (!result.answered) {
    if (fromComposer) throw new Error(result.error);
    composer.showError(result.error);
  }
}

async function press(message, component, values, node) {
  node.classList.add("pending");
  try {
    answered(await api.post("/api/components", {
      as: page.as, message: message.id, custom_id: component.custom_id, values,
    }));
  } catch (error) {
    composer.showError(error.message);
  } finally {
    node.classList.remove("pending");
  }
}

function openApps(message, anchor) {
  document.querySelector(".menu")?.remove();
  const menu = el("div", { class: "menu", role: "menu" }, el("h3", {}, t("Apps")),
    page.apps.map((app) => el("button", {
      type: "button", role: "menuitem", "data-app": app.name,
      onclick: async () => {
        menu.remove();
        try {
          answered(await api.post("/api/apps", { as: page.as, message: message.id, name: app.name }));
        } catch (error) {
          composer.showError(error.message);
        }
      },
    }, app.name)));
  const box = anchor.getBoundingClientRect();
  menu.style.top = `${box.bottom + 4}px`;
  menu.style.left = `${Math.max(8, box.right - 200)}px`;
  menu.style.position = "fixed";
  document.body.append(menu);
  setTimeout(() => document.addEventListener("click", () => menu.remove(), { once: true }));
}

// ------------------------------------------------------------------ drawing
function visible(entry) {
  return (entry.viewer === null || entry.viewer === page.state.me.id)
    && !page.dismissed.has(entry.message.id);
}

function place(entry) {
  const id = entry.message.id;
  const node = renderMessage(entry, ctx);
  const old = list.querySelector(`[data-message-id="${id}"]`);
  if (old) {
    old.replaceWith(node);
    return;
  }
  const later = [...list.children].find((li) => BigInt(li.dataset.messageId) > BigInt(id));
  list.insertBefore(node, later || null);
}

function update(entry, kind) {
  const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  const id = entry.message.id;
  if (kind === "delete" || !visible(entry)) {
    page.messages.delete(id);
    list.querySelector(`[data-message-id="${id}"]`)?.remove();
    return;
  }
  page.messages.set(id, entry);
  place(entry);
  if (nearBottom || kind === "create") list.scrollTop = list.scrollHeight;
}

function drawSidebar() {
  const state = page.state;
  document.getElementById("server-name").textContent = state.guild.name;
  document.title = t("Easel playground · {server}", { server: state.guild.name });
  document.getElementById("provider").textContent = t("Images: {provider}", { provider: state.provider });
  document.getElementById("channels").replaceChildren(...state.channels.map((channel) => el("button", {
    type: "button", "data-channel": channel.id, "data-channel-name": channel.name,
    class: `channel${channel.id === page.channelId ? " active" : ""}${page.unread.has(channel.id) ? " unread" : ""}`,
    onclick: () => selectChannel(channel.id),
  }, el("span", { class: "hash" }, "#"), channel.name,
  channel.nsfw ? el("span", { class: "badge nsfw" }, "NSFW") : null,
  channel.modlog ? el("span", { class: "tag" }, t("mod log")) : null)));
  document.getElementById("personas").replaceChildren(el("h2", { class: "sr-only" }, t("Act as")),
    ...state.personas.map((persona) => el("button", {
      type: "button", "data-persona": persona.name,
      class: `persona${persona.id === state.me.id ? " active" : ""}`,
      "aria-pressed": String(persona.id === state.me.id),
      onclick: () => selectPersona(persona.name),
    }, avatar({ id: persona.id, username: persona.display }, "small"),
    el("span", { class: "who" }, persona.display, el("small", {}, persona.role)))));
  for (const box of document.querySelectorAll("[data-control]")) {
    box.checked = Boolean(state.controls[box.dataset.control]);
  }
  const banner = document.getElementById("banner");
  banner.hidden = state.bot.connected;
  banner.textContent = t("Easel is connecting to the local Discord…");
}

function drawHeader() {
  const channel = byId(page.state.channels, page.channelId);
  document.getElementById("channel-name").textContent = channel?.name || "";
  document.getElementById("channel-topic").textContent = channel?.topic || "";
  document.getElementById("channel-nsfw").hidden = !channel?.nsfw;
}

// ------------------------------------------------------------------ loading
async function loadChannel() {
  const view = await api.get(`/api/channels/${page.channelId}?as=${encodeURIComponent(page.as)}`);
  page.apps = view.apps;
  composer.setCommands(view.commands);
  page.messages.clear();
  list.replaceChildren();
  for (const entry of view.messages) {
    if (!visible(entry)) continue;
    page.messages.set(entry.message.id, entry);
    place(entry);
  }
  list.scrollTop = list.scrollHeight;
}

function drawLanguages() {
  const picker = document.getElementById("language");
  picker.replaceChildren(...languages().map((option) => el("option", {
    value: option.code, selected: option.code === language(),
  }, option.name)));
  picker.value = language();
}

// Another language: the page's words at once; the member's next interactions carry it, so
// Easel's answers come back in it (messages already posted stay as they were, as on Discord).
document.getElementById("language").addEventListener("change", async (event) => {
  document.body.dataset.ready = "false";
  try {
    await loadLanguage(event.target.value);
    drawLanguages();
    composer.reset();
    await load();
  } catch (error) {
    composer.showError(error.message);
  }
});

async function load() {
  page.state = await api.get(`/api/state?as=${encodeURIComponent(page.as)}`);
  if (!byId(page.state.channels, page.channelId)) page.channelId = page.state.channels[0]?.id;
  page.unread.delete(page.channelId);
  drawSidebar();
  drawHeader();
  activity.load(page.state.activity);
  await loadChannel();
  document.body.dataset.ready = "true";
  if (!page.state.bot.connected) setTimeout(load, 1000);
}

function remember() {
  const url = new URL(location.href);
  url.searchParams.set("as", page.as);
  url.searchParams.set("channel", page.channelId);
  history.replaceState(null, "", url);
}

async function selectChannel(id) {
  page.channelId = id;
  page.unread.delete(id);
  composer.reset();
  remember();
  drawSidebar();
  drawHeader();
  await loadChannel();
}

async function selectPersona(name) {
  page.as = name;
  page.dismissed.clear();
  composer.reset();
  remember();
  document.body.dataset.ready = "false";
  await load();
}

// ------------------------------------------------------------------ live events
function onEvent(event) {
  if (!page.state) return;
  if (event.type === "message") {
    const channelId = event.message.channel_id;
    if (channelId === page.channelId) update(event, event.kind);
    else if (event.kind === "create" && visible(event) && byId(page.state.channels, channelId)) {
      page.unread.add(channelId);
      drawSidebar();
    }
  } else if (event.type === "activity") {
    activity.add(event.entry, event.totals);
  } else if (event.type === "commands") {
    loadChannel();
  } else if (event.type === "controls") {
    page.state.controls = event.controls;
    drawSidebar();
    loadChannel();
  }
}

let wasConnected = null;
api.events(onEvent, (connected) => {
  if (connected && wasConnected === false) load();
  wasConnected = connected;
  const banner = document.getElementById("banner");
  if (!connected) {
    banner.hidden = false;
    banner.textContent = t("Lost the connection to the playground; retrying…");
  }
});

// ------------------------------------------------------------------ page controls
for (const box of document.querySelectorAll("[data-control]")) {
  box.addEventListener("change", async () => {
    try {
      await api.post("/api/controls", { [box.dataset.control]: box.checked });
    } catch (error) {
      box.checked = !box.checked;
      composer.showError(error.message);
    }
  });
}

document.getElementById("toggle-activity").addEventListener("click", (event) => {
  const hidden = document.getElementById("app").classList.toggle("activity-hidden");
  event.currentTarget.setAttribute("aria-expanded", String(!hidden));
});

const chat = document.getElementById("chat");
const hint = document.getElementById("drop-hint");
let depth = 0;
chat.addEventListener("dragenter", (event) => {
  if (![...event.dataTransfer.types].includes("Files")) return;
  event.preventDefault();
  depth += 1;
  hint.hidden = false;
});
chat.addEventListener("dragover", (event) => event.preventDefault());
chat.addEventListener("dragleave", () => {
  depth = Math.max(0, depth - 1);
  if (!depth) hint.hidden = true;
});
chat.addEventListener("drop", (event) => {
  event.preventDefault();
  depth = 0;
  hint.hidden = true;
  composer.addFiles([...event.dataTransfer.files]);
});

setInterval(() => refreshRelativeTimes(list), 15_000);

loadLanguage().then(() => {
  drawLanguages();
  return load();
}).catch((error) => {
  const banner = document.getElementById("banner");
  banner.hidden = false;
  banner.textContent = t("The playground did not load: {error}", { error: error.message });
});
