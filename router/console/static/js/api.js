// The admin API as the console uses it: the key lives in this tab's sessionStorage only and
// goes out as X-API-Key; every non-2xx answer becomes an ApiError carrying the problem's detail.

const KEY_NAME = "routerhub.adminKey";
const API = "/api/v1";

export class ApiError extends Error {
  constructor(status, code, detail) {
    super(detail);
    this.status = status;
    this.code = code;
    this.detail = detail;
  }
}

export const session = {
  key() {
    return window.sessionStorage.getItem(KEY_NAME);
  },
  signIn(key) {
    window.sessionStorage.setItem(KEY_NAME, key);
  },
  signOut() {
    window.sessionStorage.removeItem(KEY_NAME);
  },
};

// Only the filters that have a value: an empty one would still filter.
export function queryString(params) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") query.set(name, String(value));
  }
  const text = query.toString();
  return text ? `?${text}` : "";
}

export function segment(value) {
  return encodeURIComponent(value);
}

async function problemOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (body && typeof body === "object") {
    let detail = String(body.detail || body.message || response.statusText);
    if (body.fields && typeof body.fields === "object") {
      const named = Object.entries(body.fields).map(([name, why]) => `${name}: ${[].concat(why).join(", ")}`);
      if (named.length) detail = `${detail} (${named.join("; ")})`;
    }
    return new ApiError(response.status, String(body.error || "error"), detail);
  }
  return new ApiError(response.status, "error", `${response.status} ${response.statusText}`);
}

async function send(method, path, { params, body } = {}) {
  const headers = { "X-API-Key": session.key() || "", Accept: "application/json" };
  const init = { method, headers, credentials: "omit", cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(`${API}${path}${queryString(params)}`, init);
  if (!response.ok) throw await problemOf(response);
  return response;
}

export async function call(method, path, options) {
  const response = await send(method, path, options);
  if (response.status === 204) return null;
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

export const api = {
  get: (path, params) => call("GET", path, { params }),
  post: (path, body) => call("POST", path, { body: body || {} }),
  del: (path) => call("DELETE", path),
};

// Download a streamed answer (the audit export) as a file: a plain link cannot send the key.
export async function download(path, params, filename) {
  const response = await send("GET", path, { params });
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return blob.size;
}
