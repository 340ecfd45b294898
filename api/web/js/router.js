// A small hash router: "#/orders/abc?status=published" → the page registered for
// "/orders/:id", with {id: "abc"} and the query. The hash keeps every page a plain link
// (bookmarkable, back and forward work) with no server routes beyond the static files.

const routes = [];

/** route("/orders/:id", loader): loader() resolves to a page module with render(). */
export function route(pattern, load, options = {}) {
  const names = [];
  const source = pattern
    .split("/")
    .map((part) => {
      if (part.startsWith(":")) {
        names.push(part.slice(1));
        return "([^/]+)";
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("/");
  routes.push({ pattern, regex: new RegExp(`^${source}$`), names, load, ...options });
}

/** The current location as {path, query}. */
export function current() {
  const hash = window.location.hash.replace(/^#/, "") || "/";
  const [path, search = ""] = hash.split("?");
  return { path, query: new URLSearchParams(search) };
}

export function match(path) {
  for (const r of routes) {
    const m = r.regex.exec(path);
    if (m) {
      const params = {};
      r.names.forEach((name, i) => (params[name] = decodeURIComponent(m[i + 1])));
      return { route: r, params };
    }
  }
  return null;
}

export function navigate(path, query) {
  const search = query ? new URLSearchParams(query).toString() : "";
  const target = `#${path}${search ? `?${search}` : ""}`;
  if (window.location.hash === target) {
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  } else {
    window.location.hash = target;
  }
}

/** A link's href for a path and query. */
export function href(path, query) {
  const search = query ? new URLSearchParams(query).toString() : "";
  return `#${path}${search ? `?${search}` : ""}`;
}
