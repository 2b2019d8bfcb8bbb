// Building the page from data: every value goes in as text (a text node or textContent),
// never as markup, so nothing a client sent can become HTML or script.

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

export const $ = (selector) => document.querySelector(selector);

export function jobLink(id) {
  return el("a", { href: "#/job/" + encodeURIComponent(id), class: "job-link" }, el("code", {}, id));
}

export function statusBadge(status) {
  return el("span", { class: "status", dataset: { status } }, status);
}

export function seconds(value) {
  if (value === null || value === undefined) return "—";
  if (value < 60) return value.toFixed(value < 10 ? 1 : 0) + " s";
  const minutes = Math.floor(value / 60);
  if (minutes < 60) return minutes + " min " + Math.round(value % 60) + " s";
  return Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
}

export function clock(epoch) {
  if (!epoch) return "—";
  return new Date(epoch * 1000).toLocaleString();
}

export function ago(epoch) {
  if (!epoch) return "—";
  return seconds(Math.max(0, Date.now() / 1000 - epoch));
}
