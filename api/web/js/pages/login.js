// Sign in: POST /auth/token (the OAuth2 password form), then GET /me for the role.

import { get, request } from "../api.js";
import { append, field, form, h, link, pageTitle } from "../dom.js";
import { t } from "../i18n.js";
import { navigate } from "../router.js";
import * as session from "../session.js";

export async function render(root, { query }) {
  const next = query.get("next");
  const notice = query.get("expired")
    ? h("p", { class: "notice", role: "status" }, t("login.expired"))
    : null;
  const loginForm = form(
    { class: "stack", "aria-labelledby": "page-title" },
    [
      field({ label: t("login.username"), name: "username", autocomplete: "username", required: true }),
      field({
        label: t("login.password"),
        name: "password",
        type: "password",
        autocomplete: "current-password",
        required: true,
      }),
      h("button", { type: "submit", class: "primary" }, t("login.submit")),
    ],
    async ({ username, password }) => {
      const token = await request("POST", "/auth/token", {
        form: { username, password },
        anonymous: true,
      });
      session.save(token.access_token, token.expires_at, { role: null, display_name: "" });
      const me = await get("/me");
      session.save(token.access_token, token.expires_at, me);
      navigate(next && next.startsWith("/") ? next : "/");
    },
  );
  append(root, 
    pageTitle(t("login.title")),
    notice,
    loginForm,
    h("p", {}, t("login.noAccount"), " ", link("#/signup", t("login.signUp"))),
    h("p", { class: "muted" }, t("login.demo")),
  );
}
