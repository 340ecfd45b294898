// The review queues (GET /reviews/queue): scripts, videos and republished videos waiting for
// platform review, the longest waiting first, each with how long it has waited.

import { get } from "../api.js";
import { append, h, link, pageTitle, section } from "../dom.js";
import { dateTime, since } from "../format.js";
import { t } from "../i18n.js";
import { deadlineText } from "../orderlist.js";

const KINDS = ["script", "video", "publication"];

export async function render(root) {
  const queues = await Promise.all(KINDS.map((kind) => get("/reviews/queue", { kind, limit: 50 })));
  append(root, 
    pageTitle(t("reviews.title")),
    KINDS.map((kind, i) =>
      section(
        t(`reviews.${kind}`, { n: queues[i].length }),
        queues[i].length
          ? h("ol", { class: "cards queue", dataset: { queue: kind } }, queues[i].map(item))
          : h("p", { class: "muted" }, t("reviews.empty")),
      ),
    ),
  );
}

function item(entry) {
  // Waiting fields the server may add (how long, by when the review is due, escalated, the
  // pre-review's matches) are shown when they are there.
  const waitedMs = Number.isFinite(entry.waiting_seconds) ? entry.waiting_seconds * 1000 : null;
  const due = entry.review_due || entry.due_at || null;
  const matches = Array.isArray(entry.prereview) ? entry.prereview : entry.matches;
  return h(
    "li",
    { class: entry.escalated ? "card escalated" : "card", dataset: { order: entry.order_id } },
    h(
      "h3",
      {},
      link(`#/orders/${encodeURIComponent(entry.order_id)}`, entry.product, {
        "aria-label": t("reviews.open", { product: entry.product }),
      }),
    ),
    h(
      "dl",
      { class: "facts compact" },
      h("dt", {}, t("reviews.waiting")),
      h(
        "dd",
        { class: "waiting" },
        waitedMs === null ? since(entry.waiting_since) : since(new Date(Date.now() - waitedMs).toISOString()),
      ),
      h("dt", {}, t("reviews.since")),
      h("dd", {}, dateTime(entry.waiting_since)),
      due ? [h("dt", {}, t("reviews.due")), h("dd", {}, deadlineText(due))] : null,
      h("dt", {}, t("reviews.creator")),
      h("dd", {}, entry.creator_id),
    ),
    entry.escalated ? h("p", { class: "flag escalated" }, t("order.escalated")) : null,
    Array.isArray(matches) && matches.length ? h("p", { class: "flag" }, t("order.prereviewFound", { n: matches.length })) : null,
  );
}
