// Ops (P1): what needs attention (escalated reviews, disputes, overdue deliveries), and every
// order with filters (GET /orders). Filters the server does not offer yet are not shown; the
// attention list then reads the open orders' views instead of filtering on the server.

import { get } from "../api.js";
import { append, clear, field, form, h, pageTitle, section } from "../dom.js";
import { localInputToIso, isoToLocalInput } from "../format.js";
import { t } from "../i18n.js";
import { orderCard, statusOptions } from "../orderlist.js";
import { navigate } from "../router.js";
import { pages } from "./orders.js";
import { FINAL_STATUSES } from "../actions.js";

const FLAGS = ["escalated", "disputed", "overdue"];
const TEXT_FILTERS = ["client_id", "creator_id"];
// Without the server's filters: how many open orders the attention list reads at most.
const SCAN_LIMIT = 100;

export async function render(root, ctx) {
  const { caps, query, user } = ctx;
  const attention = h("div", { "aria-live": "polite" });
  append(root, pageTitle(t("ops.title")), section(t("ops.attention"), attention));
  const list = h("div", { "aria-live": "polite" });
  append(root, section(t("ops.allOrders"), filters(caps, query), list));
  await Promise.all([
    attentionLists(attention, caps, user),
    pages(list, (cursor) => get("/orders", { ...Object.fromEntries(query.entries()), cursor, limit: 20 }), (o) => orderCard(o, user.role)),
  ]);
}

function filters(caps, query) {
  const has = (name) => caps.orderFilters.has(name);
  const deadline = query.get("deadline_before");
  return form(
    { class: "filters", "aria-label": t("ops.filters") },
    [
      field({ label: t("orders.status"), name: "status", options: statusOptions(), value: query.get("status") || "" }),
      TEXT_FILTERS.filter(has).map((name) =>
        field({ label: t(`ops.${name}`), name, maxlength: 64, value: query.get(name) || "", autocomplete: "off" }),
      ),
      has("deadline_before")
        ? field({ label: t("ops.deadline_before"), name: "deadline_before", type: "datetime-local", value: deadline ? isoToLocalInput(deadline) : "" })
        : null,
      FLAGS.filter(has).map((name) => field({ label: t(`ops.only_${name}`), name, type: "checkbox", checked: query.get(name) === "true" })),
      h("button", { type: "submit", class: "primary" }, t("common.filter")),
    ],
    async (v) => {
      const next = {};
      for (const [name, value] of Object.entries(v)) {
        if (value === true) next[name] = "true";
        else if (name === "deadline_before" && value) next[name] = localInputToIso(value);
        else if (typeof value === "string" && value.trim()) next[name] = value.trim();
      }
      navigate("/ops", next);
    },
  );
}

async function attentionLists(box, caps, user) {
  const groups = {};
  const serverSide = FLAGS.filter((flag) => caps.orderFilters.has(flag));
  for (const flag of serverSide) {
    groups[flag] = (await get("/orders", { [flag]: "true", limit: 50 })).items;
  }
  const rest = FLAGS.filter((flag) => !serverSide.includes(flag));
  if (rest.length) Object.assign(groups, await scan(rest));
  clear(
    box,
    FLAGS.filter((flag) => groups[flag] !== undefined).map((flag) =>
      h(
        "div",
        { class: "attention", dataset: { attention: flag } },
        h("h3", {}, t(`ops.${flag}`, { n: groups[flag].length })),
        groups[flag].length
          ? h("ul", { class: "cards" }, groups[flag].map((o) => orderCard(o, user.role)))
          : h("p", { class: "muted" }, t("ops.none")),
      ),
    ),
  );
}

/** The open orders' own views, read one by one, for the flags the list cannot filter by. */
async function scan(flags) {
  const open = [];
  let cursor = null;
  do {
    const page = await get("/orders", { limit: 100, cursor });
    open.push(...page.items.filter((o) => !FINAL_STATUSES.has(o.status)));
    cursor = page.next_cursor;
  } while (cursor && open.length < SCAN_LIMIT);
  const views = [];
  const queue = open.slice(0, SCAN_LIMIT);
  const worker = async () => {
    while (queue.length) {
      const summary = queue.shift();
      const view = await get(`/orders/${encodeURIComponent(summary.id)}`);
      views.push({ summary, view });
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
  views.sort((a, b) => (a.summary.created_at < b.summary.created_at ? 1 : -1));
  return Object.fromEntries(flags.map((flag) => [flag, views.filter((v) => v.view[flag]).map((v) => v.summary)]));
}
