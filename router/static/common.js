/* Shared helpers of the chat page and the operator console: DOM building without innerHTML,
   JSON calls to the router's API with the stable error codes, and safe links. */
"use strict";

/** Create an element: el("button", {type: "button", class: "x", onclick: f}, "text", child). */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Call the API; resolves to {ok, status, data, code, message}; never throws on HTTP errors. */
async function apiCall(path, { method = "GET", key = "", body = undefined, headers = {} } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers } };
  if (key) init.headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    return { ok: false, status: 0, data: null, code: "network_error", message: String(error) };
  }
  return jsonResult(response);
}

/** A JSON answer as {ok, status, data, code, message, retryAfter}; `ok` false gives the error fields
 * even for a 2xx (the chat page's stream endpoint answering without a stream). */
async function jsonResult(response, ok = response.ok) {
  let data = null;
  try {
    data = await response.json();
  } catch (error) {
    data = null;
  }
  const problem = (data && data.error) || {};
  return {
    ok,
    status: response.status,
    data,
    code: problem.code || (ok ? null : `http_${response.status}`),
    message: problem.message || (ok ? null : response.statusText),
    retryAfter: Number(response.headers.get("Retry-After") || 0),
  };
}

/** A link only for http(s) URLs (a citation's URL comes from documents, not from us). */
function safeLink(url, text) {
  try {
    const parsed = new URL(url, window.location.href);
    if (parsed.protocol === "http:" || parsed.protocol === "https:") {
      return el("a", { href: parsed.href, target: "_blank", rel: "noopener noreferrer" }, text);
    }
  } catch (error) {
    /* not a URL: plain text below */
  }
  return el("span", {}, text);
}

/** A random id for client_message_id (retries of one message carry the same id). */
function randomId(prefix) {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function timeOf(iso) {
  const date = iso ? new Date(iso) : new Date();
  return date.toLocaleTimeString(document.documentElement.lang || [], { hour: "2-digit", minute: "2-digit" });
}

/* Material Design icons (Apache-2.0): drawn as SVG so that no emoji font is needed. */
const ICONS = {
  like: "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z",
  dislike: "M15 3H6c-.83 0-1.54.5-1.84 1.22l-3.02 7.05c-.09.23-.14.47-.14.73v2c0 1.1.9 2 2 2h6.31l-.95 4.57-.03.32c0 .41.17.79.44 1.06L9.83 23l6.59-6.59c.36-.36.58-.86.58-1.41V5c0-1.1-.9-2-2-2zm4 0v12h4V3h-4z",
};

function icon(name) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "18");
  svg.setAttribute("height", "18");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", ICONS[name]);
  path.setAttribute("fill", "currentColor");
  svg.append(path);
  return svg;
}
