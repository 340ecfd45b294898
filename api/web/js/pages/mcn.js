// An MCN: what each of its creators earned it (GET /mcn/earnings), and creators' requests to
// join (GET /mcn/requests, accept or refuse).

import { get, post } from "../api.js";
import { append, busy, field, form, h, pageTitle, section, table, toast } from "../dom.js";
import { dateTime, yuan } from "../format.js";
import { t } from "../i18n.js";
import { navigate } from "../router.js";

const STATUSES = ["pending", "accepted", "refused", "withdrawn"];

export async function render(root, ctx) {
  const status = ctx.query.get("status") || "pending";
  const [earnings, requests] = await Promise.all([get("/mcn/earnings"), get("/mcn/requests", { status })]);
  const total = earnings.reduce((sum, e) => sum + BigInt(e.earned_fen), 0n);
  append(root, 
    pageTitle(t("mcn.title")),
    section(
      t("mcn.earnings"),
      earnings.length
        ? table({
            caption: t("mcn.earnings"),
            attrs: { class: "earnings" },
            columns: [t("mcn.creator"), t("mcn.orders"), [t("mcn.earned"), "amount"]],
            rows: earnings.map((e) => ({
              attrs: { dataset: { creator: e.creator_id } },
              cells: [e.creator_id, String(e.orders), yuan(e.earned_fen)],
            })),
            foot: h(
              "tfoot",
              {},
              h("tr", {}, h("th", { scope: "row" }, t("mcn.total")), h("td", {}), h("td", { class: "amount" }, yuan(total))),
            ),
          })
        : h("p", { class: "muted" }, t("mcn.noEarnings")),
    ),
    section(
      t("mcn.requests"),
      form(
        { class: "filters inline", "aria-label": t("mcn.requests") },
        [
          field({ label: t("mcn.requestStatus"), name: "status", options: STATUSES.map((s) => [s, t(`request.${s}`)]), value: status }),
          h("button", { type: "submit" }, t("common.filter")),
        ],
        async (v) => navigate("/mcn", { status: v.status }),
      ),
      requests.length
        ? h("ul", { class: "cards" }, requests.map((r) => request(r, ctx)))
        : h("p", { class: "muted" }, t("mcn.noRequests")),
    ),
  );
}

function request(r, ctx) {
  const errors = h("div", { class: "form-errors" });
  const answer = (verb) => (event) =>
    busy(event.currentTarget, errors, async () => {
      await post(`/mcn/requests/${encodeURIComponent(r.id)}/${verb}`);
      toast(t(verb === "accept" ? "mcn.accepted" : "mcn.refused", { name: r.creator_name }));
      await ctx.refresh();
    });
  return h(
    "li",
    { class: "card" },
    h("h3", {}, r.creator_name),
    h("p", { class: "muted" }, t(`request.${r.status}`), " · ", dateTime(r.created_at)),
    r.status === "pending"
      ? h(
          "div",
          { class: "row" },
          h("button", { type: "button", class: "primary", onclick: answer("accept") }, t("mcn.accept")),
          h("button", { type: "button", class: "danger", onclick: answer("refuse") }, t("mcn.refuse")),
        )
      : null,
    errors,
  );
}

