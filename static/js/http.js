// Calls to the REST API from the pages: session cookie + the page's CSRF token, problem+json errors.

export class ApiError extends Error {
  constructor(status, problem, fallback) {
    super((problem && (problem.detail || problem.title)) || fallback);
    this.status = status;
    this.problem = problem || {};
  }
}

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

/**
 * Send a request to the API. ``body`` is a plain object (sent as JSON) or a FormData (multipart).
 * Resolves with the parsed JSON (null for 204); rejects with an ApiError carrying the problem document.
 */
export async function api(method, url, body, { networkMessage = "Network error", failedMessage = "Failed" } = {}) {
  const headers = { Accept: "application/json", "X-CSRFToken": csrfToken() };
  let payload;
  if (body instanceof FormData) {
    payload = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(url, { method, headers, body: payload, credentials: "same-origin" });
  } catch (err) {
    throw new ApiError(0, null, networkMessage);
  }
  if (resp.status === 204) return null;
  let data = null;
  try {
    data = await resp.json();
  } catch (err) {
    data = null;
  }
  if (!resp.ok) throw new ApiError(resp.status, data, `${failedMessage} (HTTP ${resp.status})`);
  return data;
}

/** Run ``work`` with ``controls`` disabled and marked busy, so a double tap cannot send twice. */
export async function whileBusy(controls, work) {
  const list = (Array.isArray(controls) ? controls : [controls]).filter(Boolean);
  list.forEach((el) => { el.disabled = true; el.setAttribute("aria-busy", "true"); });
  try {
    return await work();
  } finally {
    list.forEach((el) => { el.disabled = false; el.removeAttribute("aria-busy"); });
  }
}

/** Show one message in a message area; errors stay until the next action, successes fade. */
export function showMessage(area, text, kind = "error") {
  if (!area) return;
  area.replaceChildren();
  const div = document.createElement("div");
  div.className = `alert alert-${kind}`;
  div.setAttribute("role", kind === "error" ? "alert" : "status");
  div.textContent = text;
  area.append(div);
  if (kind !== "error") {
    const timer = setTimeout(() => { if (div.isConnected) div.remove(); }, 4000);
    div.addEventListener("click", () => { clearTimeout(timer); div.remove(); });
  }
}

export function clearMessage(area) {
  if (area) area.replaceChildren();
}

/** Fill ``{name}`` placeholders of a translated template. */
export function fmt(template, values) {
  return template.replace(/\{(\w+)\}/g, (m, key) => (key in values ? String(values[key]) : m));
}

/** Build an element: el("button", {class: "btn", type: "button"}, "text", child…). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}
