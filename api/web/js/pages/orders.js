// My orders (GET /orders): newest first, optionally of one status, a page at a time.

import { get } from "../api.js";
import { append, clear, field, form, h, pageTitle } from "../dom.js";
import { t } from "../i18n.js";
import { orderCard, statusOptions } from "../orderlist.js";
import { navigate } from "../router.js";

export async function render(root, { query, user }) {
  const status = query.get("status") || "";
  const filter = form(
    { class: "filters inline", "aria-label": t("orders.filter") },
    [
      field({ label: t("orders.status"), name: "status", options: statusOptions(), value: status }),
      h("button", { type: "submit" }, t("common.filter")),
    ],
    async (v) => navigate("/orders", v.status ? { status: v.status } : null),
  );
  const list = h("div", { "aria-live": "polite" });
  append(root, pageTitle(t("orders.title")), filter, list);
  await pages(list, (cursor) => get("/orders", { status, cursor, limit: 20 }), (o) => orderCard(o, user.role));
}

/** A list fetched a page at a time, with previous and next buttons. */
export async function pages(list, fetchPage, item, empty = t("orders.empty")) {
  const before = [];
  const show = async (cursor) => {
    const page = await fetchPage(cursor);
    clear(
      list,
      page.items.length ? h("ul", { class: "cards" }, page.items.map(item)) : h("p", { class: "muted" }, empty),
      h(
        "div",
        { class: "pager" },
        before.length ? h("button", { type: "button", onclick: () => show(before.pop()) }, t("common.previous")) : null,
        page.next_cursor
          ? h(
              "button",
              {
                type: "button",
                onclick: () => {
                  before.push(cursor);
                  show(page.next_cursor);
                },
              },
              t("common.next"),
            )
          : null,
      ),
    );
  };
  await show(null);
}
