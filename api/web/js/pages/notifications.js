// The inbox (GET /me/notifications): newest first, the unread ones marked, each linking to its
// order; marked read one by one or all at once, where the server offers it.

import { request } from "../api.js";
import { refreshUnread } from "../app.js";
import { append, clear, h, link, pageTitle, toast } from "../dom.js";
import { dateTime } from "../format.js";
import { t } from "../i18n.js";

export async function render(root, ctx) {
  const { caps } = ctx;
  if (!caps.notifications) {
    append(root, pageTitle(t("notifications.title")), h("p", { class: "muted" }, t("notifications.unavailable")));
    return;
  }
  const list = h("div", { "aria-live": "polite" });
  const summary = h("p", { class: "muted" });
  const readAll = caps.notificationsReadAll
    ? h(
        "button",
        {
          type: "button",
          dataset: { readAll: "" },
          onclick: async () => {
            try {
              await request("POST", "/me/notifications/read-all");
              await ctx.refresh();
            } catch {
              toast(t("notifications.markFailed"), "error");
            }
          },
        },
        t("notifications.markAllRead"),
      )
    : null;
  append(root, pageTitle(t("notifications.title")), h("div", { class: "row" }, summary, readAll), list);
  const before = [];
  const show = async (cursor) => {
    const page = await request("GET", "/me/notifications", { params: { cursor, limit: 20 } });
    summary.textContent = t("notifications.unread", { n: page.unread_count || 0 });
    clear(
      list,
      page.items.length
        ? h("ul", { class: "cards" }, page.items.map((n) => item(n, caps, () => show(cursor))))
        : h("p", { class: "muted" }, t("notifications.empty")),
      h(
        "div",
        { class: "pager" },
        before.length ? h("button", { type: "button", onclick: () => show(before.pop()) }, t("common.previous")) : null,
        page.next_cursor
          ? h("button", { type: "button", onclick: () => (before.push(cursor), show(page.next_cursor)) }, t("common.next"))
          : null,
      ),
    );
  };
  await show(null);
}

function item(n, caps, reload) {
  const unread = !n.read_at;
  const markPath = caps.notificationReadPath
    ? caps.notificationReadPath.replace(/\{[^}]+\}/, encodeURIComponent(n.id))
    : null;
  return h(
    "li",
    { class: unread ? "card notification unread" : "card notification", dataset: { notification: n.id } },
    h("h3", {}, unread ? h("span", { class: "dot", "aria-label": t("notifications.new") }, "●") : null, " ", t(`notification.${n.kind}`, {}, n.title || n.kind)),
    n.body ? h("p", { class: "prose" }, n.body) : null,
    h(
      "p",
      { class: "muted" },
      dateTime(n.created_at),
      n.order_id ? [" · ", link(`#/orders/${encodeURIComponent(n.order_id)}`, t("notifications.toOrder"))] : null,
    ),
    unread && markPath
      ? h(
          "button",
          {
            type: "button",
            onclick: async () => {
              try {
                await request("POST", markPath, { as: "none" });
                await reload();
                refreshUnread();
              } catch {
                toast(t("notifications.markFailed"), "error");
              }
            },
          },
          t("notifications.markRead"),
        )
      : null,
  );
}
