// A client's webhook endpoints (N2): every notification of its inbox POSTed to them, signed with
// a secret shown only when it is made; the delivery log of each (GET/POST/DELETE /me/webhooks).

import { get, post, request } from "../api.js";
import { append, busy, clear, field, form, h, pageTitle, section, table, toast } from "../dom.js";
import { dateTime } from "../format.js";
import { t } from "../i18n.js";

export async function render(root, ctx) {
  const endpoints = await get("/me/webhooks");
  const secretBox = h("div", { "aria-live": "polite", dataset: { secretBox: "" } });
  append(
    root,
    pageTitle(t("webhooks.title")),
    h("p", { class: "muted" }, t("webhooks.intro")),
    secretBox,
    section(
      t("webhooks.register"),
      form(
        { class: "stack", "aria-label": t("webhooks.register"), dataset: { form: "webhook" } },
        [
          field({
            label: t("webhooks.url"),
            name: "url",
            type: "url",
            required: true,
            maxlength: 2000,
            placeholder: "https://hooks.example.com/xigua",
            hint: t("webhooks.urlHint"),
            autocomplete: "off",
          }),
          h("button", { type: "submit", class: "primary" }, t("webhooks.registerSubmit")),
        ],
        async (v) => {
          const made = await post("/me/webhooks", { url: v.url.trim() });
          await ctx.refresh();
          showSecret(made);
        },
      ),
    ),
    section(
      t("webhooks.endpoints"),
      endpoints.length
        ? h("ul", { class: "cards" }, endpoints.map((e) => endpoint(e, ctx)))
        : h("p", { class: "muted" }, t("webhooks.none")),
    ),
  );
}

/** The secret, which the server shows once: after the page is drawn again, at its top. */
function showSecret(made) {
  const box = document.querySelector("[data-secret-box]");
  if (!box) return;
  clear(
    box,
    h(
      "div",
      { class: "notice", role: "alert", dataset: { secret: made.id } },
      h("p", {}, t("webhooks.secretOnce", { url: made.url })),
      h("code", { class: "secret" }, made.secret),
    ),
  );
}

function endpoint(e, ctx) {
  const errors = h("div", { class: "form-errors" });
  const log = h("div", { class: "deliveries" });
  const path = `/me/webhooks/${encodeURIComponent(e.id)}`;
  return h(
    "li",
    { class: "card", dataset: { webhook: e.id } },
    h("h3", {}, h("code", {}, e.url)),
    h(
      "p",
      { class: "muted" },
      t("webhooks.created", { at: dateTime(e.created_at) }),
      e.secret_rotated_at ? [" · ", t("webhooks.rotated", { at: dateTime(e.secret_rotated_at) })] : null,
    ),
    h(
      "div",
      { class: "row" },
      h(
        "button",
        {
          type: "button",
          dataset: { log: "" },
          onclick: (event) => busy(event.currentTarget, errors, () => deliveries(log, path, null)),
        },
        t("webhooks.log"),
      ),
      h(
        "button",
        {
          type: "button",
          dataset: { rotate: "" },
          onclick: (event) =>
            busy(event.currentTarget, errors, async () => {
              const made = await post(`${path}/rotate-secret`);
              await ctx.refresh();
              showSecret(made);
            }),
        },
        t("webhooks.rotate"),
      ),
      h(
        "button",
        {
          type: "button",
          class: "danger",
          dataset: { delete: "" },
          onclick: (event) =>
            busy(event.currentTarget, errors, async () => {
              await request("DELETE", path, { as: "none" });
              toast(t("webhooks.deleted"));
              await ctx.refresh();
            }),
        },
        t("webhooks.delete"),
      ),
    ),
    errors,
    log,
  );
}

async function deliveries(box, path, cursor) {
  const page = await get(`${path}/deliveries`, { cursor, limit: 20 });
  clear(
    box,
    page.items.length
      ? table({
          caption: t("webhooks.log"),
          columns: [t("webhooks.at"), t("webhooks.kind"), t("webhooks.attempt"), t("webhooks.outcome")],
          rows: page.items.map((a) => ({
            cells: [
              dateTime(a.at),
              t(`notification.${a.kind}`, {}, a.kind),
              String(a.attempt),
              [a.outcome, a.status_code ? ` (HTTP ${a.status_code})` : "", a.error ? ` ${a.error}` : ""],
            ],
          })),
        })
      : h("p", { class: "muted" }, t("webhooks.noDeliveries")),
    page.next_cursor
      ? h("button", { type: "button", onclick: () => deliveries(box, path, page.next_cursor) }, t("common.next"))
      : null,
  );
}
