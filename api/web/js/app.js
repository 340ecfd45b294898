// The app shell: the header (navigation for the signed-in role, the language switch, sign out),
// the routes, and rendering the current page into <main>.

import { discover, get, request } from "./api.js";
import { clear, errorBox, h, loading } from "./dom.js";
import { LANGUAGES, lang, setLang, t } from "./i18n.js";
import { current, match, navigate, route } from "./router.js";
import * as session from "./session.js";

const ALL = ["client", "creator", "mcn", "reviewer", "ops"];

route("/login", () => import("./pages/login.js"), { public: true });
route("/signup", () => import("./pages/signup.js"), { public: true });
route("/square", () => import("./pages/square.js"), { roles: ALL });
route("/creators/:id/order", () => import("./pages/order_new.js"), { roles: ["client"] });
route("/orders", () => import("./pages/orders.js"), { roles: ["client", "creator", "mcn"] });
route("/orders/:id", () => import("./pages/order.js"), { roles: ALL });
route("/wallet", () => import("./pages/wallet.js"), { roles: ["client", "creator", "mcn"] });
route("/notifications", () => import("./pages/notifications.js"), { roles: ALL });
route("/webhooks", () => import("./pages/webhooks.js"), { roles: ["client"] });
route("/account", () => import("./pages/account.js"), { roles: ALL });
route("/profile", () => import("./pages/profile.js"), { roles: ["creator"] });
route("/mcn", () => import("./pages/mcn.js"), { roles: ["mcn"] });
route("/reviews", () => import("./pages/reviews.js"), { roles: ["reviewer", "ops"] });
route("/ops", () => import("./pages/ops.js"), { roles: ["ops"] });

// Each role's navigation, its first entry being its home page.
const NAV = {
  client: ["square", "orders", "wallet", "notifications", "webhooks"],
  creator: ["orders", "profile", "wallet", "notifications"],
  mcn: ["mcn", "orders", "wallet", "notifications"],
  reviewer: ["reviews", "notifications"],
  ops: ["ops", "reviews", "notifications"],
};

export function home(role) {
  return `/${(NAV[role] || ["square"])[0]}`;
}

const header = () => document.getElementById("site-header");
const main = () => document.getElementById("main");

async function renderHeader(caps) {
  const user = session.user();
  const { path } = current();
  // Entries for optional routes appear only where the server has them.
  const offered = { notifications: caps.notifications, webhooks: caps.webhooks };
  const items = (user ? NAV[user.role] || [] : ["login", "signup"]).filter(
    (name) => offered[name] !== false,
  );
  const nav = h(
    "nav",
    { "aria-label": t("nav.label") },
    h(
      "ul",
      {},
      items.map((name) => {
        const target = `/${name}`;
        const active = path === target || (target !== "/" && path.startsWith(`${target}/`));
        return h(
          "li",
          {},
          h(
            "a",
            { href: `#${target}`, "aria-current": active ? "page" : null, dataset: { nav: name } },
            t(`nav.${name}`),
            name === "notifications" ? h("span", { class: "badge", id: "unread" }) : null,
          ),
        );
      }),
    ),
  );
  const language = h(
    "select",
    {
      id: "language",
      onchange: (event) => {
        setLang(event.target.value);
        renderAll();
      },
    },
    LANGUAGES.map(([code, name]) => h("option", { value: code, selected: code === lang() }, name)),
  );
  const who = user
    ? h(
        "div",
        { class: "who" },
        h(
          "a",
          { href: "#/account", dataset: { nav: "account" }, title: t("account.title") },
          user.display_name,
          " · ",
          t(`role.${user.role}`),
        ),
        h("button", { type: "button", class: "link", onclick: signOut }, t("app.signOut")),
      )
    : null;
  clear(
    header(),
    h("a", { class: "brand", href: user ? `#${home(user.role)}` : "#/login" }, t("app.title")),
    nav,
    h("div", { class: "tools" }, h("label", { class: "sr-only", for: "language" }, t("app.language")), language, who),
  );
  if (user && caps.notifications) refreshUnread();
}

/** The unread notifications' count beside the inbox's entry. */
export async function refreshUnread() {
  const badge = document.getElementById("unread");
  if (!badge) return;
  try {
    const page = await get("/me/notifications", { limit: 1 });
    badge.textContent = page.unread_count ? String(page.unread_count) : "";
    badge.setAttribute("aria-label", t("notifications.unread", { n: page.unread_count || 0 }));
  } catch {
    badge.textContent = "";
  }
}

async function signOut() {
  try {
    await request("POST", "/auth/logout", { as: "none" });
  } catch {
    // signed out here either way
  }
  session.clear();
  navigate("/login");
}

let rendering = 0;

async function renderPage(caps) {
  const mine = ++rendering;
  const root = main();
  delete root.dataset.ready;
  const shown = await pageFor(caps, root, () => mine === rendering);
  // Which page, in which language, is on screen now: what tests (and scripts) wait for.
  if (shown && mine === rendering) root.dataset.ready = `${lang()}:${window.location.hash}`;
}

/** Render the current route into `root`; false when it sent the browser elsewhere instead. */
async function pageFor(caps, root, stillCurrent) {
  const { path, query } = current();
  const user = session.user();
  const notice = (key) => clear(root, h("h1", { tabindex: "-1", id: "page-title" }, t(key)));
  if (path === "/" || path === "") {
    navigate(user ? home(user.role) : "/login");
    return false;
  }
  const found = match(path);
  if (!found) return notice("app.notFound") && true;
  if (!found.route.public && !user) {
    navigate("/login", { next: path + (query.toString() ? `?${query}` : "") });
    return false;
  }
  if (found.route.public && user) {
    navigate(home(user.role));
    return false;
  }
  if (found.route.roles && !found.route.roles.includes(user.role)) return notice("app.notForRole") && true;
  clear(root, loading());
  try {
    const page = await found.route.load();
    if (!stillCurrent()) return false;
    const container = h("div", { class: "page" });
    await page.render(container, {
      params: found.params,
      query,
      user,
      caps,
      home: home(user?.role),
      refresh: renderAll,
    });
    if (!stillCurrent()) return false;
    clear(root, container);
    document.title = `${document.getElementById("page-title")?.textContent || ""} · ${t("app.title")}`;
    document.getElementById("page-title")?.focus({ preventScroll: true });
  } catch (error) {
    if (stillCurrent()) clear(root, errorBox(error));
  }
  return true;
}

async function renderAll() {
  const caps = await discover();
  document.documentElement.lang = lang();
  await renderHeader(caps);
  await renderPage(caps);
}

window.addEventListener("hashchange", renderAll);
// A link to the page already shown reads it again (the browser sends no hashchange for it).
document.addEventListener("click", (event) => {
  const anchor = event.target.closest?.("a[href^='#']");
  if (anchor && anchor.getAttribute("href") === window.location.hash && !event.defaultPrevented) {
    event.preventDefault();
    renderAll();
  }
});
window.addEventListener("xigua:signed-out", () => navigate("/login", { expired: "1" }));
renderAll();
