// The API client: the key from localStorage as a bearer token, JSON in and out, and the API's
// {"error": {"code", "message"}} turned into an ApiError whose message is shown to people as is.

const KEY_STORAGE = "facmon.apiKey";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function getKey() {
  try {
    return localStorage.getItem(KEY_STORAGE);
  } catch {
    return null;
  }
}

export function setKey(key) {
  localStorage.setItem(KEY_STORAGE, key);
}

export function clearKey() {
  localStorage.removeItem(KEY_STORAGE);
}

const listeners = new Set();

/** Called with the ApiError whenever the API says the key is no longer valid (401). */
export function onUnauthorized(listener) {
  listeners.add(listener);
}

async function errorFrom(response) {
  let code = "http_" + response.status;
  let message = `${response.status} ${response.statusText || "error"}`;
  try {
    const body = await response.json();
    if (body && body.error) {
      code = body.error.code || code;
      message = body.error.message || message;
    } else if (body && body.detail) {
      message = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
    }
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(response.status, code, message);
}

/** One request; resolves to the parsed JSON (or text when asked), rejects with ApiError. */
export async function request(method, path, { body, text = false, signal } = {}) {
  const headers = { Accept: text ? "text/markdown, text/plain" : "application/json" };
  const key = getKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: "no-store",
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "network", "the server cannot be reached; check the connection");
  }
  if (!response.ok) {
    const error = await errorFrom(response);
    if (response.status === 401) listeners.forEach((l) => l(error));
    throw error;
  }
  if (response.status === 204) return null;
  return text ? response.text() : response.json();
}

export const api = {
  get: (path, options) => request("GET", path, options),
  post: (path, body, options) => request("POST", path, { ...options, body: body ?? {} }),
  text: (path, options) => request("GET", path, { ...options, text: true }),
};

/** A query string from an object, leaving out empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    for (const one of Array.isArray(value) ? value : [value]) {
      if (one !== null && one !== undefined && one !== "") search.append(name, String(one));
    }
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** A path segment, encoded. */
export const seg = encodeURIComponent;
