// The signed-in account (GET /me), and its contact details (PUT /me/contact): the SMS and
// e-mail notifications go there, and the other side of an order sees a virtual number instead.

import { request } from "../api.js";
import { append, facts, field, form, h, pageTitle, section, toast } from "../dom.js";
import { t } from "../i18n.js";

export async function render(root, { user }) {
  append(
    root,
    pageTitle(t("account.title")),
    section(
      t("account.who"),
      facts([
        [t("account.name"), user.display_name],
        [t("login.username"), user.username || "—"],
        [t("account.role"), t(`role.${user.role}`)],
        [t("account.id"), h("code", {}, user.id)],
      ]),
    ),
    section(
      t("profile.contact"),
      form(
        { class: "stack", "aria-label": t("profile.contact"), dataset: { form: "contact" } },
        [
          h("p", { class: "muted" }, t("account.contactHint")),
          field({ label: t("profile.phone"), name: "phone", type: "tel", required: true, pattern: "1[3-9][0-9]{9}", autocomplete: "tel" }),
          field({ label: t("profile.email"), name: "email", type: "email", required: true, autocomplete: "email" }),
          h("button", { type: "submit", class: "primary" }, t("common.save")),
        ],
        async (v, el) => {
          await request("PUT", "/me/contact", { json: { phone: v.phone.trim(), email: v.email.trim() }, as: "none" });
          toast(t("profile.contactSaved"));
          el.reset();
        },
      ),
    ),
  );
}
