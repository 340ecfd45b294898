// The wallet: the balance, top-ups (clients), withdrawals (creators and MCNs), and the
// statement of every movement (GET /wallet, /wallet/statement).

import { InputError, get, request, submission } from "../api.js";
import { append, clear, field, form, h, link, pageTitle, section, table, toast } from "../dom.js";
import { dateTime, parseYuan, yuan } from "../format.js";
import { t } from "../i18n.js";

export async function render(root, ctx) {
  const { user } = ctx;
  const wallet = await get("/wallet");
  append(root, 
    pageTitle(t("wallet.title")),
    section(
      t("wallet.balance"),
      h("p", { class: "balance", dataset: { money: "balance" } }, yuan(wallet.balance_fen)),
    ),
    user.role === "client" ? topUp(ctx) : withdrawal(ctx),
  );
  const list = h("div", {});
  append(root, section(t("wallet.statement"), list));
  await statement(list);
}

function amountField() {
  return field({
    label: t("wallet.amount"),
    name: "amount",
    inputmode: "decimal",
    required: true,
    placeholder: "1000.00",
    hint: t("wallet.amountHint"),
  });
}

function amountOf(v) {
  const fen = parseYuan(v.amount);
  if (fen === null || fen <= 0) throw new InputError(t("common.badAmount"));
  return fen;
}

function topUp(ctx) {
  const send = submission();
  return section(
    t("wallet.topUp"),
    form({ class: "stack", "aria-label": t("wallet.topUp"), dataset: { form: "top_up" } }, [amountField(), h("button", { type: "submit", class: "primary" }, t("wallet.topUpSubmit"))], async (v) => {
      const amount_fen = amountOf(v);
      await send((key) => request("POST", "/wallet/top-ups", { json: { amount_fen }, key }));
      toast(t("wallet.toppedUp", { amount: yuan(amount_fen) }));
      await ctx.refresh();
    }),
  );
}

function withdrawal(ctx) {
  const send = submission();
  return section(
    t("wallet.withdraw"),
    form(
      { class: "stack", "aria-label": t("wallet.withdraw"), dataset: { form: "withdraw" } },
      [
        amountField(),
        field({
          label: t("wallet.bankAccount"),
          name: "bank_account",
          inputmode: "numeric",
          required: true,
          pattern: "[0-9]{12,30}",
          hint: t("wallet.bankHint"),
          autocomplete: "off",
        }),
        h("button", { type: "submit", class: "primary" }, t("wallet.withdrawSubmit")),
      ],
      async (v) => {
        const amount_fen = amountOf(v);
        const bank_account = v.bank_account.replace(/\s/g, "");
        if (!/^[0-9]{12,30}$/.test(bank_account)) throw new InputError(t("wallet.bankHint"));
        const payment = await send((key) =>
          request("POST", "/wallet/withdrawals", { json: { amount_fen, bank_account }, key }),
        );
        // The amount is held at once, paid or not yet: the balance and statement show it.
        toast(t("wallet.withdrawn", { amount: yuan(amount_fen), status: t(`payment.${payment.status}`) }));
        await ctx.refresh();
      },
    ),
  );
}

async function statement(list) {
  const before = [];
  const show = async (cursor) => {
    const page = await get("/wallet/statement", { cursor, limit: 20 });
    clear(
      list,
      page.items.length
        ? table({
            caption: t("wallet.statement"),
            attrs: { class: "statement" },
            columns: [t("wallet.at"), t("wallet.kind"), [t("wallet.amountColumn"), "amount"], t("wallet.order")],
            rows: page.items.map((line) => ({
              cells: [
                dateTime(line.at),
                t(`statement.${line.kind}`, {}, t("statement.other")),
                h("span", { class: line.amount_fen < 0 ? "out" : "in" }, yuan(line.amount_fen)),
                line.order_id ? link(`#/orders/${encodeURIComponent(line.order_id)}`, t("wallet.viewOrder")) : "—",
              ],
            })),
          })
        : h("p", { class: "muted" }, t("wallet.empty")),
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
