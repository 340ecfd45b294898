// The review queues (GET /reviews/queue): scripts, videos and republished videos waiting for
// platform review, the longest waiting first, each with how long it has waited, when its review
// is due, whether it is late, and what the machine pre-review found in it (B2).

import { get } from "../api.js";
import { append, clear, h, link, pageTitle, section } from "../dom.js";
import { dateTime, duration, since } from "../format.js";
import { t } from "../i18n.js";
import { deadlineText } from "../orderlist.js";

const KINDS = ["script", "video", "publication"];

export async function render(root) {
  append(root, pageTitle(t("reviews.title")));
  const boxes = KINDS.map(() => h("div", {}));
  append(root, KINDS.map((kind, i) => section(t(`reviews.${kind}Title`), boxes[i])));
  await Promise.all(KINDS.map((kind, i) => queue(boxes[i], kind)));
}

/** One queue, a page at a time (the server pages it; older servers answer a plain list). */
async function queue(box, kind) {
  const shown = [];
  const more = async (cursor) => {
    const answer = await get("/reviews/queue", { kind, limit: 50, cursor });
    const page = Array.isArray(answer) ? { items: answer, next_cursor: null } : answer;
    shown.push(...page.items);
    clear(
      box,
      h("p", { class: "muted" }, t("reviews.count", { n: shown.length })),
      shown.length
        ? h("ol", { class: "cards queue", dataset: { queue: kind } }, shown.map(item))
        : h("p", { class: "muted" }, t("reviews.empty")),
      page.next_cursor
        ? h("button", { type: "button", onclick: () => more(page.next_cursor) }, t("reviews.more"))
        : null,
    );
  };
  await more(null);
}

function item(entry) {
  // The waiting time as the server counts it (where it says), else from when it was handed in.
  const waited = Number.isFinite(entry.waiting_seconds)
    ? duration(entry.waiting_seconds * 1000)
    : since(entry.waiting_since);
  const matches = (entry.texts || []).reduce((n, text) => n + (text.pre_review?.matches?.length || 0), 0);
  return h(
    "li",
    { class: entry.escalated || entry.late ? "card escalated" : "card", dataset: { order: entry.order_id } },
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
      h("dd", { class: "waiting" }, waited),
      h("dt", {}, t("reviews.since")),
      h("dd", {}, dateTime(entry.waiting_since)),
      entry.review_due ? [h("dt", {}, t("reviews.due")), h("dd", {}, deadlineText(entry.review_due))] : null,
      h("dt", {}, t("reviews.creator")),
      h("dd", {}, entry.creator_id),
    ),
    entry.escalated
      ? h("p", { class: "flag escalated" }, t("order.escalated"))
      : entry.late
        ? h("p", { class: "flag" }, t("reviews.late"))
        : null,
    matches ? h("p", { class: "flag" }, t("order.prereviewFound", { n: matches })) : null,
  );
}
