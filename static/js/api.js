// The JSON API with the session cookie and the CSRF synchronizer token (API.md, "Conventions").

let csrfToken = null;

export function setCsrf(token) {
  csrfToken = token || null;
}

/** An RFC 9457 problem document, thrown for every non-2xx answer. */
export class Problem extends Error {
  constructor(status, body) {
    super(body.detail || body.title || `HTTP ${status}`);
    this.status = status;
    this.code = body.code || `http_${status}`;
    this.body = body;
  }
}

export async function api(method, path, body, extraHeaders = {}) {
  const headers = { Accept: "application/json", ...extraHeaders };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new Problem(0, { code: "network_error", detail: "network" });
  }
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    throw new Problem(response.status, typeof data === "object" && data ? data : { detail: data });
  }
  return data;
}

export const get = (path) => api("GET", path);
export const post = (path, body, headers) => api("POST", path, body, headers);
export const put = (path, body) => api("PUT", path, body);
export const del = (path) => api("DELETE", path);

export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}
export const patch = (path, body) => api("PATCH", path, body);
