// Small DOM helpers for the page (no framework, CSP-friendly: no inline handlers or styles).

export const $ = (id) => document.getElementById(id);

/** Creates an element: el("button", {className: "btn", type: "button"}, "Text", child...). */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "className") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key in node && typeof value !== "string") node[key] = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";
const ICONS = {
  phone: ["M5 4h4l2 5-2.5 1.5a11 11 0 0 0 5 5L15 13l5 2v4a2 2 0 0 1-2 2A16 16 0 0 1 3 6a2 2 0 0 1 2-2"],
  video: ["M3 8a2 2 0 0 1 2-2h9a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2z", "m16 10 5-3v10l-5-3"],
  incoming: ["M17 7 7 17", "M7 9v8h8"],
  outgoing: ["M7 17 17 7", "M9 7h8v8"],
  missed: ["M3 7l7 7 8-8", "M12 6h6v6"],
  trash: ["M4 7h16", "M10 11v6M14 11v6", "M6 7l1 13h10l1-13", "M9 7V4h6v3"],
};

export function icon(name) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", "icon");
  svg.setAttribute("aria-hidden", "true");
  for (const d of ICONS[name] ?? []) {
    const path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}

export function displayName(user) {
  return user?.displayName || user?.username || "Someone";
}

export function initials(user) {
  const name = displayName(user).trim();
  const parts = name.split(/[\s._-]+/).filter(Boolean);
  const letters = parts.length > 1 ? parts[0][0] + parts[1][0] : name.slice(0, 2);
  return letters.toUpperCase();
}

function colorClass(user) {
  let hash = 0;
  for (const ch of String(user?.id ?? user?.username ?? "")) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return `c${hash % 8}`;
}

/** Fills an avatar element with a user's initials and colour. */
export function paintAvatar(node, user) {
  node.textContent = initials(user);
  for (const cls of [...node.classList]) if (/^c\d$/.test(cls)) node.classList.remove(cls);
  node.classList.add(colorClass(user));
}

export function formatDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** Shows a short message at the bottom of the screen (announced to screen readers). */
export function toast(message, { kind = "info", timeoutMs = 5000 } = {}) {
  const box = $("toasts");
  const node = el("div", { className: `toast ${kind === "error" ? "error" : ""}` }, message);
  box.append(node);
  setTimeout(() => node.remove(), timeoutMs);
  return node;
}
