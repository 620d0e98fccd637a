// The activity panel: what the bot did (Discord REST calls, 429s, gateway events, image API).

import { language, t } from "./i18n.js";
import { el } from "./render.js";

const SHOWN = 400; // rows kept in the page

export class ActivityPanel {
  constructor() {
    this.list = document.getElementById("activity-list");
    this.totalsBox = document.getElementById("activity-totals");
    this.filter = "all";
    for (const button of document.querySelectorAll("#activity-filters button")) {
      button.addEventListener("click", () => {
        this.filter = button.dataset.filter;
        for (const other of document.querySelectorAll("#activity-filters button")) {
          other.classList.toggle("active", other === button);
        }
        for (const row of this.list.children) row.hidden = !this.matches(row);
      });
    }
  }

  load(snapshot) {
    this.list.replaceChildren();
    for (const entry of snapshot.entries) this.add(entry);
    this.totals(snapshot.totals);
  }

  totals(totals) {
    // `key` names the total for scripts and tests; `label` is what the visitor reads.
    const item = (key, label, value, hot = false) =>
      el("span", { class: hot && value ? "hot" : "", "data-total": key }, el("strong", {}, String(value)), ` ${label}`);
    this.totalsBox.replaceChildren(
      item("REST calls", t("REST calls"), totals.discord),
      item("rate-limit hits", t("rate-limit hits"), totals.rate_limited, true),
      item("image API requests", t("image API requests"), totals.upstream),
      item("failed", t("failed"), totals.upstream_failed, true));
  }

  matches(row) {
    if (this.filter === "all") return true;
    if (this.filter === "ratelimit") return row.classList.contains("limited");
    return row.classList.contains(this.filter);
  }

  add(entry, totals) {
    const limited = entry.source === "discord" && entry.status === 429;
    const failed = entry.status === null ? entry.source === "upstream" : entry.status >= 400;
    const row = el("li", {
      class: `activity-entry ${entry.source}${limited ? " limited" : failed ? " error" : ""}`,
    },
    el("span", { class: "time" }, new Date(entry.at * 1000).toLocaleTimeString(language(), { hour12: false })),
    el("span", { class: "source" }, { discord: "REST", upstream: t("image"), gateway: t("gateway") }[entry.source]),
    el("span", { class: "what" }, `${entry.method === "EVENT" ? "" : `${entry.method} `}${entry.target}`),
    el("span", { class: "status" }, [entry.status ?? (entry.source === "upstream" ? t("error") : ""),
      entry.ms === null ? "" : `${Math.round(entry.ms)} ms`].filter((x) => x !== "").join(" · ")),
    entry.note ? el("span", { class: "note" }, entry.note) : null);
    row.hidden = !this.matches(row);
    const atTop = this.list.scrollTop < 8;
    this.list.prepend(row);
    while (this.list.children.length > SHOWN) this.list.lastChild.remove();
    if (atTop) this.list.scrollTop = 0;
    if (totals) this.totals(totals);
  }
}
