// Opening the task (C1-C7): bind the Xigua account, apply (every unmet condition with its
// measured value), the quote, the contact details, the accepting-orders switch, and the MCN.

import { InputError, del, get, post, put, request } from "../api.js";
import { append, busy, clear, facts, field, form, h, pageTitle, section, table, toast } from "../dom.js";
import { count, dateTime, fenToInput, parseYuan, yuan } from "../format.js";
import { t } from "../i18n.js";

export async function render(root, ctx) {
  const [me, requests] = await Promise.all([get("/creators/me"), get("/creators/me/mcn-requests")]);
  const done = async (message) => {
    toast(message);
    await ctx.refresh();
  };
  append(
    root,
    pageTitle(t("profile.title")),
    h(
      "div",
      { class: "sections" },
      section(t("profile.state"), state(me)),
    section(t("profile.account"), account(me, done)),
    section(t("profile.apply"), application(me)),
    section(t("profile.quote"), quote(me, done)),
    section(t("profile.contact"), contact(me, done)),
    section(t("profile.accepting"), accepting(me, done)),
      section(t("profile.mcn"), mcn(me, requests, done)),
    ),
  );
}

function state(me) {
  return [
    facts([
      [t("profile.name"), me.display_name],
      [t("profile.orderable"), h("span", { dataset: { orderable: String(me.orderable) } }, me.orderable ? t("common.yes") : t("common.no"))],
      [t("profile.taskOpened"), me.task_opened ? t("common.yes") : t("common.no")],
      [t("profile.fans"), count(me.fans)],
      [t("profile.avgPlays"), count(me.avg_plays)],
      [t("profile.category"), me.category || "—"],
      [t("profile.credit"), String(me.credit_score)],
    ]),
    me.not_orderable_because.length
      ? h(
          "div",
          {},
          h("p", {}, t("profile.whyNot")),
          h("ul", { class: "unmet" }, me.not_orderable_because.map((why) => h("li", {}, why))),
        )
      : null,
  ];
}

function account(me, done) {
  const bound = me.xigua_account_id
    ? h("p", {}, t("profile.bound", { account: me.xigua_account_id }))
    : h("p", { class: "muted" }, t("profile.notBound"));
  const unbind =
    me.xigua_account_id && !me.task_opened
      ? h(
          "button",
          {
            type: "button",
            onclick: (event) =>
              busy(event.currentTarget, null, async () => {
                await del("/creators/me/xigua-account");
                await done(t("profile.unbound"));
              }),
          },
          t("profile.unbind"),
        )
      : null;
  const bind = me.task_opened
    ? null
    : form(
        { class: "stack", "aria-label": t("profile.bind"), dataset: { form: "bind" } },
        [
          field({
            label: t("profile.loginPlatform"),
            name: "login_platform",
            options: ["douyin", "toutiao", "huoshan"].map((p) => [p, t(`platform.${p}`)]),
          }),
          field({ label: t("profile.loginAccount"), name: "login_account", required: true, maxlength: 64, autocomplete: "off" }),
          field({ label: t("profile.xiguaAccount"), name: "xigua_account_id", required: true, maxlength: 64, autocomplete: "off" }),
          h("button", { type: "submit", class: "primary" }, t("profile.bind")),
        ],
        async (v) => {
          await put("/creators/me/xigua-account", v);
          await done(t("profile.boundDone"));
        },
      );
  return [bound, unbind, bind];
}

function application(me) {
  const result = h("div", { "aria-live": "polite" });
  const apply = h(
    "button",
    {
      type: "button",
      class: "primary",
      dataset: { apply: "" },
      onclick: () =>
        busy(apply, result, async () => {
          const answer = await post("/creators/me/task-application");
          clear(result, checks(answer));
        }),
    },
    me.task_opened ? t("profile.applyAgain") : t("profile.applySubmit"),
  );
  return [
    h("p", {}, me.task_opened ? t("profile.opened") : t("profile.applyHint")),
    apply,
    result,
  ];
}

/** Every condition of C2 with its measured value and threshold; the unmet ones first. */
function checks(answer) {
  const rows = [...answer.checks].sort((a, b) => Number(a.passed) - Number(b.passed));
  const value = (v) => (typeof v === "boolean" ? (v ? t("common.yes") : t("common.no")) : count(v));
  return [
    h("p", { class: answer.approved ? "ok" : "flag", role: "status", dataset: answer.approved ? { approved: "" } : {} }, answer.approved ? t("profile.approved") : t("profile.refused", { n: answer.unmet.length })),
    table({
      caption: t("profile.checks"),
      attrs: { class: "checks" },
      columns: [t("profile.condition"), t("profile.measured"), t("profile.threshold"), t("profile.passed")],
      rows: rows.map((c) => ({
        attrs: { class: c.passed ? "passed" : "unmet" },
        cells: [
          conditionWords(c.condition),
          value(c.measured),
          value(c.threshold),
          c.passed ? t("profile.met") : t("profile.notMet"),
        ],
      })),
    }),
  ];
}

// C2's conditions as services/creators.py names them; others are shown as written.
function conditionWords(condition) {
  const plays = /^average plays of the (\d+) latest videos$/.exec(condition);
  if (plays) return t("condition.avgPlays", { n: plays[1] });
  const known = {
    "fans on Toutiao and Xigua": "condition.fans",
    "no unhealthy-content flag": "condition.healthy",
    "original (原创) permission": "condition.original",
  };
  return known[condition] ? t(known[condition]) : condition;
}

function quote(me, done) {
  return [
    h("p", {}, me.quote_fen === null ? t("profile.noQuote") : t("profile.quoteIs", { price: yuan(me.quote_fen) })),
    form(
      { class: "stack", "aria-label": t("profile.quote"), dataset: { form: "quote" } },
      [
        field({
          label: t("profile.quoteYuan"),
          name: "quote",
          inputmode: "decimal",
          required: true,
          value: fenToInput(me.quote_fen),
        }),
        h("button", { type: "submit", class: "primary" }, t("common.save")),
      ],
      async (v) => {
        const fen = parseYuan(v.quote);
        if (fen === null || fen <= 0) throw new InputError(t("common.badAmount"));
        await put("/creators/me/quote", { quote_fen: fen });
        await done(t("profile.quoteSaved", { price: yuan(fen) }));
      },
    ),
  ];
}

function contact(me, done) {
  return form(
    { class: "stack", "aria-label": t("profile.contact"), dataset: { form: "contact" } },
    [
      h("p", { class: "muted" }, t("profile.contactHint")),
      field({ label: t("profile.phone"), name: "phone", type: "tel", required: true, value: me.phone || "", pattern: "1[3-9][0-9]{9}", autocomplete: "tel" }),
      field({ label: t("profile.email"), name: "email", type: "email", required: true, value: me.email || "", autocomplete: "email" }),
      h("button", { type: "submit", class: "primary" }, t("common.save")),
    ],
    async (v) => {
      await request("PUT", "/me/contact", { json: { phone: v.phone.trim(), email: v.email.trim() }, as: "none" });
      await done(t("profile.contactSaved"));
    },
  );
}

function accepting(me, done) {
  const errors = h("div", { class: "form-errors" });
  const toggle = field({
    label: t("profile.acceptingLabel"),
    name: "accepting",
    type: "checkbox",
    role: "switch",
    checked: me.accepting_orders,
    hint: t("profile.acceptingHint"),
  });
  toggle.control.addEventListener("change", (event) =>
    busy(event.target, errors, async () => {
      await put("/creators/me/accepting", { accepting: event.target.checked });
      await done(event.target.checked ? t("profile.acceptingOn") : t("profile.acceptingOff"));
    }),
  );
  return [toggle, errors];
}

function mcn(me, requests, done) {
  const pending = requests.find((r) => r.status === "pending");
  const parts = [
    h("p", {}, me.mcn_id ? t("profile.inMcn", { mcn: me.mcn_id }) : t("profile.independent")),
  ];
  if (me.mcn_id) {
    parts.push(
      h(
        "button",
        {
          type: "button",
          onclick: (event) =>
            busy(event.currentTarget, null, async () => {
              await del("/creators/me/mcn");
              await done(t("profile.left"));
            }),
        },
        t("profile.leave"),
      ),
    );
  } else if (!pending) {
    parts.push(
      form(
        { class: "stack", "aria-label": t("profile.join") },
        [
          field({ label: t("profile.mcnId"), name: "mcn_id", required: true, maxlength: 64, autocomplete: "off" }),
          h("button", { type: "submit", class: "primary" }, t("profile.join")),
        ],
        async (v) => {
          await post("/creators/me/mcn-requests", { mcn_id: v.mcn_id.trim() });
          await done(t("profile.asked"));
        },
      ),
    );
  }
  if (requests.length) {
    parts.push(
      h(
        "ul",
        { class: "requests" },
        requests.map((r) =>
          h(
            "li",
            {},
            t("profile.request", { mcn: r.mcn_name, status: t(`request.${r.status}`), at: dateTime(r.created_at) }),
            r.status === "pending"
              ? [
                  " ",
                  h(
                    "button",
                    {
                      type: "button",
                      onclick: (event) =>
                        busy(event.currentTarget, null, async () => {
                          await post(`/creators/me/mcn-requests/${encodeURIComponent(r.id)}/withdraw`);
                          await done(t("profile.withdrawn"));
                        }),
                    },
                    t("profile.withdrawRequest"),
                  ),
                ]
              : null,
          ),
        ),
      ),
    );
  }
  return parts;
}

