// Sign up as a client, creator or MCN (POST /auth/signup), then sign in at once.

import { get, request } from "../api.js";
import { append, field, form, h, link, pageTitle } from "../dom.js";
import { t } from "../i18n.js";
import { navigate } from "../router.js";
import * as session from "../session.js";

export async function render(root) {
  const signupForm = form(
    { class: "stack", "aria-labelledby": "page-title" },
    [
      field({
        label: t("signup.role"),
        name: "role",
        options: ["client", "creator", "mcn"].map((r) => [r, t(`role.${r}`)]),
      }),
      field({
        label: t("login.username"),
        name: "username",
        autocomplete: "username",
        required: true,
        minlength: 3,
        maxlength: 64,
        hint: t("signup.usernameHint"),
      }),
      field({ label: t("signup.displayName"), name: "display_name", required: true, maxlength: 100 }),
      field({
        label: t("login.password"),
        name: "password",
        type: "password",
        autocomplete: "new-password",
        required: true,
        minlength: 8,
        hint: t("signup.passwordHint"),
      }),
      h("button", { type: "submit", class: "primary" }, t("signup.submit")),
    ],
    async (v) => {
      await request("POST", "/auth/signup", { json: v, anonymous: true });
      const token = await request("POST", "/auth/token", {
        form: { username: v.username, password: v.password },
        anonymous: true,
      });
      session.save(token.access_token, token.expires_at, { role: null, display_name: "" });
      session.save(token.access_token, token.expires_at, await get("/me"));
      navigate("/");
    },
  );
  append(root, 
    pageTitle(t("signup.title")),
    signupForm,
    h("p", {}, t("signup.haveAccount"), " ", link("#/login", t("login.submit"))),
  );
}
