// Orders as lists show them (GET /orders): status, who must act, by when, and what happens if
// nobody does. Shared by "my orders" and the ops pages.

import { h, link } from "./dom.js";
import { dateTime, relative, yuan } from "./format.js";
import { t } from "./i18n.js";

// The D2 table's outcomes in words, as the projection lists them (workflows/deadlines.py);
// a sentence not here is shown as the server wrote it. A test checks every one is here.
export const AT_DEADLINE = {
  "the order is cancelled and the client refunded in full": "auto_cancel",
  "the script is overdue: the client may cancel with a full refund": "overdue_script",
  "the review is escalated to ops": "escalate",
  "the script is confirmed automatically": "auto_confirm_script",
  "the video is overdue: the client may cancel with a full refund": "overdue_video",
  "the video is confirmed automatically": "auto_confirm_video",
  "the video is published automatically on the creator's account": "auto_publish",
  "the order is accepted automatically and the creator paid": "auto_accept",
  "the retention period ends and the order completes": "retention_end",
  "the order is cancelled, the client refunded": "grace_cancel",
  "the request lapses": "lapse_extension",
  "the cancellation proposal lapses": "lapse_cancellation",
  "the dispute is escalated again to ops": "escalate_dispute",
};

export function atDeadlineWords(text) {
  if (!text) return null;
  const key = AT_DEADLINE[text];
  return key ? t(`outcome.${key}`) : text;
}

/** "in 3 h 20 min (1 Dec 2026, 14:00)", marked when it has passed. */
export function deadlineText(iso) {
  if (!iso) return null;
  const passed = new Date(iso).getTime() < Date.now();
  return h(
    "span",
    { class: passed ? "deadline passed" : "deadline" },
    h("time", { datetime: iso }, relative(iso)),
    " (",
    dateTime(iso),
    ")",
  );
}

export function whoActs(role, viewer) {
  if (!role) return t("orders.nobody");
  return role === viewer ? t("orders.you", { role: t(`role.${role}`) }) : t(`role.${role}`);
}

export function statusBadge(status) {
  return h("span", { class: `status status-${status}` }, t(`status.${status}`));
}

/** One order as a card: a link to it and the facts a list shows. */
export function orderCard(order, viewer, extra = null) {
  return h(
    "li",
    { class: "card order", dataset: { order: order.id } },
    h(
      "h3",
      {},
      link(`#/orders/${encodeURIComponent(order.id)}`, order.product || order.id, {
        "aria-label": t("orders.open", { product: order.product || order.id }),
      }),
      " ",
      statusBadge(order.status),
      ["overdue", "escalated", "disputed"]
        .filter((flag) => order[flag])
        .map((flag) => [" ", h("span", { class: `status flag-${flag}` }, t(`orders.${flag}`))]),
    ),
    h(
      "dl",
      { class: "facts compact" },
      h("dt", {}, t("orders.whoActs")),
      h("dd", {}, whoActs(order.next_actor, viewer)),
      order.deadline ? [h("dt", {}, t("orders.byWhen")), h("dd", {}, deadlineText(order.deadline))] : null,
      order.at_deadline
        ? [h("dt", {}, t("orders.ifNobody")), h("dd", {}, atDeadlineWords(order.at_deadline))]
        : null,
      h("dt", {}, t("orders.price")),
      h("dd", {}, yuan(order.price_fen)),
      h("dt", {}, t("orders.placed")),
      h("dd", {}, dateTime(order.created_at)),
      extra,
    ),
  );
}

export function statusOptions() {
  const statuses = [
    "awaiting_acceptance",
    "script_pending",
    "script_in_review",
    "script_awaiting_client",
    "video_pending",
    "video_in_review",
    "video_awaiting_client",
    "awaiting_publish",
    "published",
    "in_retention",
    "completed",
    "completed_with_violation",
    "cancelled",
    "refused",
  ];
  return [["", t("orders.anyStatus")], ...statuses.map((s) => [s, t(`status.${s}`)])];
}
