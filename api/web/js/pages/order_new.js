// Ordering a creator (O1): the brief, due dates, skip-script and retention; then the quote, the
// service fee and the total shown for confirmation before anything is frozen. The
// Idempotency-Key is made for the submission and sent again if the answer is unknown (503).

import { InputError, get, post, submission } from "../api.js";
import { append, busy, clear, facts, field, form, h, pageTitle, section, toast } from "../dom.js";
import { dateOnly, dateTime, localInputToIso, yuan } from "../format.js";
import { t } from "../i18n.js";
import { navigate } from "../router.js";

export async function render(root, { params, caps }) {
  const id = params.id;
  const path = `/creators/${encodeURIComponent(id)}`;
  const [creator, quote, wallet] = await Promise.all([
    get(path),
    caps.price ? get(`${path}/price`) : null,
    get("/wallet"),
  ]);
  const price = quote || { price_fen: creator.quote_fen, fee_fen: null, total_fen: null };

  const brief = form(
    { class: "stack", "aria-label": t("orderNew.brief") },
    [
      field({ label: t("orderNew.product"), name: "product", required: true, maxlength: 200 }),
      field({
        label: t("orderNew.requirements"),
        name: "requirements",
        type: "textarea",
        required: true,
        maxlength: 5000,
      }),
      field({ label: t("orderNew.dueDate"), name: "due_date", type: "date", hint: t("orderNew.dueDateHint") }),
      field({ label: t("orderNew.scriptDue"), name: "script_due", type: "datetime-local", hint: t("orderNew.optional") }),
      field({ label: t("orderNew.videoDue"), name: "video_due", type: "datetime-local", hint: t("orderNew.videoDueHint") }),
      field({ label: t("orderNew.skipScript"), name: "skip_script", type: "checkbox" }),
      field({
        label: t("orderNew.retention"),
        name: "retention_days",
        type: "number",
        min: 30,
        max: 3650,
        value: "30",
        required: true,
        hint: t("orderNew.retentionHint"),
      }),
      h("button", { type: "submit", class: "primary" }, t("orderNew.review")),
    ],
    async (v) => {
      const days = Number.parseInt(v.retention_days, 10);
      if (!Number.isInteger(days) || days < 30 || days > 3650) throw new InputError(t("orderNew.badRetention"));
      const body = {
        creator_id: id,
        product: v.product.trim(),
        requirements: v.requirements,
        skip_script: v.skip_script,
        retention_days: days,
        price_fen: price.price_fen,
      };
      if (v.due_date) body.due_date = v.due_date;
      if (v.script_due) body.script_due = localInputToIso(v.script_due);
      if (v.video_due) body.video_due = localInputToIso(v.video_due);
      showConfirmation(body);
    },
  );

  const confirmBox = h("div", { class: "confirm", hidden: true });
  const place = submission();

  function showConfirmation(body) {
    brief.hidden = true;
    confirmBox.hidden = false;
    const errors = h("div", { class: "form-errors" });
    const after = price.total_fen === null ? null : wallet.balance_fen - price.total_fen;
    const pay = h(
      "button",
      { type: "button", class: "primary", dataset: { confirm: "place" }, onclick: () => send() },
      price.total_fen === null ? t("orderNew.confirm") : t("orderNew.confirmPay", { total: yuan(price.total_fen) }),
    );
    const send = () =>
      busy(pay, errors, async () => {
        const order = await place((key) => post("/orders", body, key));
        toast(t("orderNew.placed"));
        navigate(`/orders/${order.id}`);
      });
    clear(
      confirmBox,
      h("h2", { id: "confirm-title", tabindex: "-1" }, t("orderNew.confirmTitle")),
      facts([
        [t("orderNew.creator"), creator.display_name],
        [t("orderNew.product"), body.product],
        [t("orderNew.requirements"), body.requirements],
        [t("orderNew.dueDate"), body.due_date ? dateOnly(body.due_date) : null],
        [t("orderNew.scriptDue"), body.script_due ? dateTime(body.script_due) : null],
        [t("orderNew.videoDue"), body.video_due ? dateTime(body.video_due) : null],
        [t("orderNew.skipScript"), body.skip_script ? t("common.yes") : t("common.no")],
        [t("orderNew.retention"), t("orderNew.days", { n: body.retention_days })],
      ]),
      money(price, wallet, after),
      after !== null && after < 0 ? h("p", { class: "error", role: "alert" }, t("orderNew.notEnough")) : null,
      h(
        "div",
        { class: "row" },
        pay,
        h(
          "button",
          {
            type: "button",
            onclick: () => {
              confirmBox.hidden = true;
              brief.hidden = false;
              brief.querySelector("input, textarea")?.focus();
            },
          },
          t("orderNew.edit"),
        ),
      ),
      errors,
    );
    confirmBox.querySelector("#confirm-title").focus();
  }

  append(root, 
    pageTitle(t("orderNew.title", { name: creator.display_name })),
    section(t("orderNew.price"), money(price, wallet, null)),
    section(t("orderNew.brief"), brief, confirmBox),
  );
}

function money(price, wallet, after) {
  return h(
    "dl",
    { class: "facts money", "aria-label": t("orderNew.price") },
    h("dt", {}, t("orderNew.quote")),
    h("dd", { dataset: { money: "price" } }, yuan(price.price_fen)),
    h("dt", {}, t("orderNew.fee")),
    h("dd", { dataset: { money: "fee" } }, price.fee_fen === null ? t("orderNew.feeLater") : yuan(price.fee_fen)),
    h("dt", {}, t("orderNew.total")),
    h("dd", { dataset: { money: "total" } }, price.total_fen === null ? "—" : yuan(price.total_fen)),
    h("dt", {}, t("orderNew.balance")),
    h("dd", { dataset: { money: "balance" } }, yuan(wallet.balance_fen)),
    after === null ? null : [h("dt", {}, t("orderNew.after")), h("dd", { dataset: { money: "after" } }, yuan(after))],
  );
}
