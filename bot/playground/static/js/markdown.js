// Discord's markdown, the parts bots use: bold, italics, underline, strikethrough, spoilers,
// code, quotes, headings, subtext, lists, links, mentions and timestamps. Text is escaped first;
// only the markup below becomes HTML. Timestamps are written in the page's language, as Discord
// shows them in each reader's.

import { language } from "./i18n.js";

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

const MONTH_DAY = { month: "long", day: "numeric", year: "numeric" };
const FORMATS = {
  t: { hour: "numeric", minute: "2-digit" },
  T: { hour: "numeric", minute: "2-digit", second: "2-digit" },
  d: { month: "2-digit", day: "2-digit", year: "numeric" },
  D: MONTH_DAY,
  f: { ...MONTH_DAY, hour: "numeric", minute: "2-digit" },
  F: { ...MONTH_DAY, weekday: "long", hour: "numeric", minute: "2-digit" },
};

export function relativeTime(date) {
  const seconds = (date.getTime() - Date.now()) / 1000;
  const units = [["year", 31536000], ["month", 2592000], ["day", 86400], ["hour", 3600],
    ["minute", 60], ["second", 1]];
  const rtf = new Intl.RelativeTimeFormat(language(), { numeric: "auto" });
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size || unit === "second") {
      return rtf.format(Math.round(seconds / size), unit);
    }
  }
  return "";
}

function timestamp(seconds, style) {
  const date = new Date(seconds * 1000);
  const text = style === "R"
    ? relativeTime(date)
    : new Intl.DateTimeFormat(language(), FORMATS[style] || FORMATS.f).format(date);
  const live = style === "R" ? " data-relative" : "";
  return `<time class="mention timestamp-mention" datetime="${date.toISOString()}"${live}
    title="${escapeHtml(date.toLocaleString(language()))}">${escapeHtml(text)}</time>`;
}

const link = (url, label) =>
  `<a href="${url}" target="_blank" rel="noopener noreferrer">${label}</a>`;

function inline(text, ctx, keep) {
  let s = text;
  s = s.replace(/<t:(-?\d{1,13})(?::([tTdDfFR]))?>/g, (_, ts, style) => keep(timestamp(+ts, style)));
  s = s.replace(/<@!?(\d+)>/g, (_, id) => keep(`<span class="mention">@${escapeHtml(ctx.memberName(id))}</span>`));
  s = s.replace(/<@&(\d+)>/g, (_, id) => keep(`<span class="mention">@${escapeHtml(ctx.roleName(id))}</span>`));
  s = s.replace(/<#(\d+)>/g, (_, id) => keep(
    `<span class="mention channel-mention" data-channel="${id}">#${escapeHtml(ctx.channelName(id))}</span>`));
  s = escapeHtml(s);
  s = s.replace(/\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)/g, (_, label, url) => keep(link(url, label)));
  s = s.replace(/(^|[\s(])(https?:\/\/[^\s<)]+)/g, (_, before, url) => before + keep(link(url, url)));
  s = s.replace(/\*\*\*(.+?)\*\*\*/gs, "<strong><em>$1</em></strong>");
  s = s.replace(/\*\*(.+?)\*\*/gs, "<strong>$1</strong>");
  s = s.replace(/__(.+?)__/gs, "<u>$1</u>");
  s = s.replace(/\*(?=\S)(.+?)\*/gs, "<em>$1</em>");
  s = s.replace(/(^|[^\w])_(?=\S)(.+?)_(?!\w)/gs, "$1<em>$2</em>");
  s = s.replace(/~~(.+?)~~/gs, "<s>$1</s>");
  s = s.replace(/\|\|(.+?)\|\|/gs, '<span class="spoiler" tabindex="0">$1</span>');
  return s;
}

function blocks(html) {
  const out = [];
  let quoteAll = false;
  for (const raw of html.split("\n")) {
    let line = raw;
    if (quoteAll) {
      out.push(`<blockquote>${line}</blockquote>`);
      continue;
    }
    if (line.startsWith("&gt;&gt;&gt; ")) {
      quoteAll = true;
      out.push(`<blockquote>${line.slice(13)}</blockquote>`);
      continue;
    }
    let m;
    if ((m = /^(#{1,3}) (.+)$/.exec(line))) {
      line = `<h${m[1].length + 1} class="md-heading">${m[2]}</h${m[1].length + 1}>`;
    } else if ((m = /^-# (.+)$/.exec(line))) {
      line = `<span class="subtext">${m[1]}</span>`;
    } else if ((m = /^&gt; (.*)$/.exec(line))) {
      line = `<blockquote>${m[1]}</blockquote>`;
    } else if ((m = /^\s*[-*] (.+)$/.exec(line))) {
      line = `• ${m[1]}`;
    }
    out.push(line);
  }
  return out.join("\n").replace(/<\/blockquote>\n<blockquote>/g, "\n");
}

// Markdown to HTML. `ctx` names members, roles and channels; `single` skips block markup.
export function markdown(text, ctx, { single = false } = {}) {
  const stash = [];
  const keep = (html) => `\u0000${stash.push(html) - 1}\u0000`;
  let s = String(text ?? "");
  s = s.replace(/```(?:[\w+-]*\n)?([\s\S]*?)```/g, (_, code) =>
    keep(`<pre><code>${escapeHtml(code.replace(/\n$/, ""))}</code></pre>`));
  s = s.replace(/``([^`]+?)``|`([^`\n]+)`/g, (_, a, b) => keep(`<code>${escapeHtml(a ?? b)}</code>`));
  s = inline(s, ctx, keep);
  if (!single) s = blocks(s);
  for (let i = 0; i < 4 && s.includes("\u0000"); i++) {
    s = s.replace(/\u0000(\d+)\u0000/g, (_, n) => stash[+n]);
  }
  return s;
}

// Relative timestamps ("in 5 minutes") stay true while the page is open, as in Discord.
export function refreshRelativeTimes(root = document) {
  for (const node of root.querySelectorAll("time[data-relative]")) {
    node.textContent = relativeTime(new Date(node.getAttribute("datetime")));
  }
}
