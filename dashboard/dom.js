// Small DOM and formatting helpers. Nodes are only ever built with createElement and
// textContent: the page's Content-Security-Policy turns Trusted Types on with no policy, so
// no HTML string can reach the DOM at all.

/**
 * Make an element: h("p", {class: "x", "aria-live": "polite"}, "text", child, ...).
 * Attributes set to false, null or undefined are left out; `on<event>` keys add listeners.
 */
export function h(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), value);
    } else if (name === "hidden" || name === "disabled" || name === "checked" || name === "selected") {
      node[name] = Boolean(value);
    } else if (name === "value") {
      node.value = value;
    } else {
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : String(child));
  }
}

/** Replace every child of `node`. */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

let ids = 0;
/** A unique id for label/aria wiring. */
export function uid(prefix) {
  ids += 1;
  return `${prefix}-${ids}`;
}

const numbers = new Intl.NumberFormat("en");
const percents = new Intl.NumberFormat("en", { style: "percent", maximumFractionDigits: 1 });
const regions = typeof Intl.DisplayNames === "function" ? new Intl.DisplayNames(["en"], { type: "region" }) : null;
const times = new Intl.DateTimeFormat("en-GB", {
  dateStyle: "medium",
  timeStyle: "short",
  timeZone: "UTC",
});
const days = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });

export const formatNumber = (n) => numbers.format(n);
export const formatPercent = (rate) => (rate === null || rate === undefined ? "–" : percents.format(rate));
export const formatTime = (iso) => (iso ? `${times.format(new Date(iso))} UTC` : "–");
export const formatDay = (day) => days.format(new Date(`${day}T00:00:00Z`));

/** A country code as "France (FR)"; unknown or empty codes as given. */
export function countryName(code) {
  if (!code) return "(not given)";
  try {
    const name = regions && regions.of(code);
    return name && name !== code ? `${name} (${code})` : code;
  } catch {
    return code;
  }
}

/** A breakdown key as shown: the empty key and the folded one say what they are. */
export function keyLabel(key) {
  if (key === "") return "(none)";
  if (key === "(rare)") return "(rare values, summed)";
  return key;
}

/** Today as a UTC day, YYYY-MM-DD, moved by `offset` days. */
export function utcDay(offset = 0) {
  const date = new Date();
  date.setUTCDate(date.getUTCDate() + offset);
  return date.toISOString().slice(0, 10);
}

/** Every UTC day from `first` to `last` (inclusive), YYYY-MM-DD. */
export function daysBetween(first, last) {
  const out = [];
  const date = new Date(`${first}T00:00:00Z`);
  const end = new Date(`${last}T00:00:00Z`);
  while (date <= end && out.length < 3700) {
    out.push(date.toISOString().slice(0, 10));
    date.setUTCDate(date.getUTCDate() + 1);
  }
  return out;
}
