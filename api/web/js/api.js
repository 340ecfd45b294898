// The one way the app talks to the server: the public routes, with the bearer token from
// POST /auth/token, nothing else. Errors arrive as RFC 9457 problems and leave as words:
// the problem's type (an ErrorKind) picks the sentence in the viewer's language.

import { t } from "./i18n.js";
import * as session from "./session.js";

const TYPE_PREFIX = "urn:xigua-tasks:problem:";

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }

  /** The ErrorKind ("InvalidState", ...), or null for a bare HTTP status. */
  get kind() {
    const type = this.problem.type || "";
    return type.startsWith(TYPE_PREFIX) ? type.slice(TYPE_PREFIX.length) : null;
  }

  /** True when the outcome is unknown (no answer, 503): the same key must be sent again. */
  get retryable() {
    return this.status === 0 || this.status === 503;
  }
}

/** A mistake in what a person typed, caught before anything is sent. */
export class InputError extends Error {}

function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params || {})) {
    if (value === null || value === undefined || value === "" || value === false) continue;
    search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/**
 * request("POST", "/orders", {json, key}) → the parsed answer.
 * Options: json (a JSON body), form (a urlencoded body), params (the query), key (an
 * Idempotency-Key), as ("json" | "blob" | "none"), anonymous (send no token).
 */
export async function request(method, path, options = {}) {
  const { json, form, params, key, as = "json", anonymous = false } = options;
  const headers = { Accept: "application/json, application/problem+json" };
  const token = session.token();
  if (token && !anonymous) headers.Authorization = `Bearer ${token}`;
  if (key) headers["Idempotency-Key"] = key;
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = new URLSearchParams(form);
  }
  let response;
  try {
    response = await fetch(path + query(params), { method, headers, body });
  } catch (cause) {
    throw new ApiError(0, { type: `${TYPE_PREFIX}Network`, detail: String(cause?.message || "") });
  }
  if (!response.ok) {
    let problem = {};
    try {
      problem = await response.json();
    } catch {
      problem = { type: "about:blank", status: response.status };
    }
    const error = new ApiError(response.status, problem);
    if (response.status === 401 && token && !anonymous) session.expired();
    throw error;
  }
  if (as === "none" || response.status === 204) return null;
  if (as === "blob") return response.blob();
  return response.json();
}

export const get = (path, params) => request("GET", path, { params });
export const post = (path, json, key) => request("POST", path, { json, key });
export const put = (path, json) => request("PUT", path, { json });
export const del = (path) => request("DELETE", path);

/** A fresh Idempotency-Key. */
export function newKey() {
  return crypto.randomUUID();
}

/**
 * One submission of a form that changes something: its Idempotency-Key is made once and
 * sent again on a retry after an unknown outcome (a 503, no answer), so that the retry gets
 * the first attempt's result instead of acting twice; after a real answer the next
 * submission gets a new key.
 */
export function submission() {
  let key = null;
  return async (send) => {
    key = key || newKey();
    try {
      const result = await send(key);
      key = null;
      return result;
    } catch (error) {
      if (!(error instanceof ApiError && error.retryable)) key = null;
      throw error;
    }
  };
}

/** An error as words in the viewer's language: {title, detail, fields}. */
export function describeError(error) {
  if (error instanceof InputError) return { title: error.message, detail: "", fields: [] };
  if (!(error instanceof ApiError)) {
    return { title: t("problem.Internal"), detail: String(error?.message || ""), fields: [] };
  }
  const kind = error.kind;
  const title = kind
    ? t(`problem.${kind}`, {}, null) ?? t("problem.status", { status: error.status })
    : t(`http.${error.status}`, {}, null) ?? t("problem.status", { status: error.status });
  const fields = (error.problem.errors || []).map((e) => {
    const where = (e.loc || []).filter((part) => part !== "body" && part !== "query");
    const name = where.length ? t(`field.${where[where.length - 1]}`, {}, String(where.join("."))) : "";
    return name ? `${name}: ${e.msg}` : e.msg;
  });
  // The detail is the server's sentence for this occurrence (in English); the title above is
  // what it means, in the viewer's language. A field list replaces the detail's summary.
  const detail = fields.length ? "" : error.problem.detail || "";
  return { title, detail: detail ? t("problem.detail", { detail }) : "", fields };
}

// --- what this server offers -------------------------------------------------------------
// Read once from the OpenAPI document, so that the app uses an optional route or filter only
// where the server lists it, without probing for it with requests that fail (the browser logs
// each failed request as a console error).

let capabilities = null;

export function discover() {
  if (!capabilities) {
    capabilities = request("GET", "/openapi.json", { anonymous: true })
      .then(readCapabilities)
      .catch(() => readCapabilities({ paths: {} }));
  }
  return capabilities;
}

function parameters(spec, path, method) {
  return new Set(((spec.paths[path] || {})[method]?.parameters || []).map((p) => p.name));
}

function schemaOf(spec, ref) {
  return spec.components?.schemas?.[(ref || "").split("/").pop()] || null;
}

/** Whether a route's JSON body can be just {text}: it has a `text` field and needs no other. */
function takesText(spec, ref) {
  const schema = schemaOf(spec, ref);
  if (!schema) return true; // no schema to read: the body the route is said to take
  const fields = Object.keys(schema.properties || {});
  return fields.includes("text") && (schema.required || []).every((name) => name === "text");
}

function readCapabilities(spec) {
  const paths = spec.paths || {};
  const has = (path, method) => Boolean(paths[path]?.[method]);
  const readPath = Object.keys(paths).find(
    (p) => p.startsWith("/me/notifications/") && p.endsWith("/read") && paths[p].post,
  );
  const prereviewBody =
    paths["/prereview"]?.post?.requestBody?.content?.["application/json"]?.schema?.$ref;
  return {
    has,
    orderFilters: parameters(spec, "/orders", "get"),
    notifications: has("/me/notifications", "get"),
    notificationReadPath: readPath || null,
    notificationsReadAll: has("/me/notifications/read-all", "post"),
    prereview: has("/prereview", "post") && takesText(spec, prereviewBody),
    price: has("/creators/{creator_id}/price", "get"),
    webhooks: has("/me/webhooks", "get"),
  };
}
