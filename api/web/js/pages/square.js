// The creator square (S1): orderable creators, filtered by budget, fans, plays and category,
// sorted, one page at a time (GET /creators).

import { InputError, get } from "../api.js";
import { append, clear, field, form, h, link, pageTitle, section } from "../dom.js";
import { count, fenToInput, parseYuan, yuan } from "../format.js";
import { t } from "../i18n.js";
import { navigate } from "../router.js";

const PAGE = 12;

export async function render(root, { query, user }) {
  const filters = Object.fromEntries(query.entries());
  const budget = filters.max_price_fen ? fenToInput(filters.max_price_fen) : "";
  const filterForm = form(
    { class: "filters", "aria-label": t("square.filters") },
    [
      field({
        label: t("square.maxPrice"),
        name: "max_price",
        inputmode: "decimal",
        value: budget,
        placeholder: "10000",
      }),
      field({ label: t("square.minFans"), name: "min_fans", type: "number", min: 0, value: filters.min_fans || "" }),
      field({
        label: t("square.minPlays"),
        name: "min_avg_plays",
        type: "number",
        min: 0,
        value: filters.min_avg_plays || "",
      }),
      field({ label: t("square.category"), name: "category", maxlength: 32, value: filters.category || "" }),
      field({
        label: t("square.sort"),
        name: "sort",
        options: [
          ["price", t("square.sortPrice")],
          ["fans", t("square.sortFans")],
          ["plays", t("square.sortPlays")],
        ],
        value: filters.sort || "price",
      }),
      field({ label: t("square.descending"), name: "descending", type: "checkbox", checked: filters.descending === "true" }),
      h("button", { type: "submit", class: "primary" }, t("common.search")),
    ],
    async (v) => {
      const next = {};
      if (v.max_price) {
        const fen = parseYuan(v.max_price);
        if (fen === null) throw new InputError(t("common.badAmount"));
        next.max_price_fen = String(fen);
      }
      for (const name of ["min_fans", "min_avg_plays", "category"]) if (v[name]) next[name] = v[name];
      next.sort = v.sort;
      if (v.descending) next.descending = "true";
      navigate("/square", next);
    },
  );
  const results = h("div", { class: "results", "aria-live": "polite" });
  append(root, pageTitle(t("square.title")), section(t("square.filters"), filterForm), results);

  // Pages: the cursors of the pages before this one, so "previous" can go back.
  const cursors = [];
  const show = async (cursor) => {
    const params = { ...filters, limit: PAGE };
    delete params.cursor;
    if (cursor) params.cursor = cursor;
    const page = await get("/creators", params);
    clear(
      results,
      page.items.length
        ? h("ul", { class: "cards", "aria-label": t("square.results") }, page.items.map((c) => card(c, user)))
        : h("p", { class: "muted" }, t("square.empty")),
      h(
        "div",
        { class: "pager" },
        cursors.length
          ? h("button", { type: "button", onclick: () => show(cursors.pop() || null) }, t("common.previous"))
          : null,
        page.next_cursor
          ? h(
              "button",
              {
                type: "button",
                onclick: () => {
                  cursors.push(cursor);
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

function card(creator, user) {
  return h(
    "li",
    { class: "card creator", dataset: { creator: creator.id } },
    h("h3", {}, creator.display_name),
    h("p", { class: "price" }, yuan(creator.quote_fen)),
    h(
      "dl",
      { class: "facts compact" },
      h("dt", {}, t("square.fans")),
      h("dd", {}, count(creator.fans)),
      h("dt", {}, t("square.avgPlays")),
      h("dd", {}, count(creator.avg_plays)),
      h("dt", {}, t("square.category")),
      h("dd", {}, creator.category || "—"),
      h("dt", {}, t("square.credit")),
      h("dd", {}, String(creator.credit_score)),
      h("dt", {}, t("square.mcn")),
      h("dd", {}, creator.in_mcn ? t("common.yes") : t("common.no")),
    ),
    user.role === "client"
      ? link(`#/creators/${encodeURIComponent(creator.id)}/order`, t("square.order"), {
          class: "button primary",
          "aria-label": t("square.orderNamed", { name: creator.display_name }),
        })
      : null,
  );
}
