// Who is signed in: the bearer token from POST /auth/token and the account from GET /me, kept in
// sessionStorage (this tab only, gone when it closes), never in a cookie: every request carries
// the token itself, so no other site can make the browser send it.

const KEY = "xigua.session";

function read() {
  try {
    const stored = JSON.parse(sessionStorage.getItem(KEY) || "null");
    if (stored && new Date(stored.expiresAt).getTime() > Date.now()) return stored;
  } catch {
    // unreadable: signed out
  }
  return null;
}

export function token() {
  return read()?.token || null;
}

export function user() {
  return read()?.user || null;
}

export function save(token, expiresAt, user) {
  sessionStorage.setItem(KEY, JSON.stringify({ token, expiresAt, user }));
}

export function clear() {
  sessionStorage.removeItem(KEY);
}

/** The server refused the token (expired, revoked): sign out and say so. */
export function expired() {
  clear();
  window.dispatchEvent(new CustomEvent("xigua:signed-out", { detail: { expired: true } }));
}
