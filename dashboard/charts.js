// Charts. Each is a <figure> with a short spoken summary and a "Show table" toggle that
// reveals the same numbers as a data table: the text alternative of the picture.
// Time series are drawn by uPlot (vendor/uplot, loaded as a classic script before the
// modules); categorical breakdowns are plain HTML bars.

import { daysBetween, fill, formatDay, formatNumber, h, uid } from "./dom.js";

/** A data table: `columns` are {label, numeric}; each row an array of cells. */
export function dataTable(caption, columns, rows) {
  return h(
    "table",
    { class: "data" },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.numeric ? "num" : null }, c.label)))),
    h(
      "tbody",
      {},
      rows.map((row) =>
        h(
          "tr",
          {},
          row.map((cell, i) =>
            i === 0
              ? h("th", { scope: "row" }, cell)
              : h("td", { class: columns[i].numeric ? "num" : null }, columns[i].numeric ? formatNumber(cell) : cell),
          ),
        ),
      ),
    ),
  );
}

/** A figure: heading, the picture (described by `summary`) and its table behind a toggle. */
export function chartFigure({ title, caption, summary, visual, table, className }) {
  const tableId = uid("table");
  // A region of its own that scrolls sideways if a phone is too narrow for the table (and
  // can be scrolled with the keyboard): the page itself never does.
  const box = h("div", { id: tableId, class: "table-box", hidden: true, tabindex: "0", role: "region", "aria-label": `${title}, table` }, table);
  const label = h("span", {}, "Show table");
  const toggle = h(
    "button",
    { type: "button", class: "toggle", "aria-expanded": "false", "aria-controls": tableId },
    label,
    h("span", { class: "sr-only" }, ` of ${title}`),
  );
  toggle.addEventListener("click", () => {
    const open = box.hidden;
    box.hidden = !open;
    toggle.setAttribute("aria-expanded", String(open));
    label.textContent = open ? "Hide table" : "Show table";
  });
  return h(
    "figure",
    { class: `chart ${className || ""}`.trim() },
    h("figcaption", {}, h("h3", {}, title), caption ? h("p", { class: "caption" }, caption) : null),
    h("div", { class: "visual", role: "img", "aria-label": summary }, visual),
    toggle,
    box,
  );
}

function emptyFigure(title, caption, text) {
  return h(
    "figure",
    { class: "chart empty" },
    h("figcaption", {}, h("h3", {}, title), caption ? h("p", { class: "caption" }, caption) : null),
    h("p", { class: "nothing" }, text || "Nothing in this range yet."),
  );
}

/**
 * Horizontal bars, largest first. rows: [{label, value, cells?}]; `columns` (optional) for a
 * table with more than label and value (then each row carries its `cells`).
 */
export function barChart({ title, caption, rows: given, keyHeading, valueHeading, columns, empty }) {
  if (!given.length) return emptyFigure(title, caption, empty);
  const rows = [...given].sort((a, b) => b.value - a.value);
  const max = Math.max(1, ...rows.map((r) => r.value));
  const total = rows.reduce((sum, r) => sum + r.value, 0);
  const visual = h(
    "ol",
    { class: "bars" },
    rows.map((row) => {
      const bar = h("span", { class: "bar" });
      bar.style.width = `${(100 * row.value) / max}%`;
      return h(
        "li",
        {},
        h("span", { class: "bar-label" }, row.label),
        h("span", { class: "bar-track" }, bar),
        h("span", { class: "bar-value" }, formatNumber(row.value)),
      );
    }),
  );
  const top = rows[0];
  const summary = `${title}: ${rows.length} ${rows.length === 1 ? "value" : "values"}, ${formatNumber(total)} in all; the largest is ${top.label} with ${formatNumber(top.value)}.`;
  const table = columns
    ? dataTable(title, columns, rows.map((r) => r.cells))
    : dataTable(
        title,
        [{ label: keyHeading }, { label: valueHeading, numeric: true }],
        rows.map((r) => [r.label, r.value]),
      );
  return chartFigure({ title, caption, summary, visual, table });
}

/**
 * Paired bars per row: `base` (one plain bar, e.g. shares) above `parts` stacked (e.g. the
 * signatures they brought, per generation). rows: [{label, base, parts: [{name, value}]}];
 * the legend names `baseName` and the part names (in `partNames` order).
 */
export function funnelChart({ title, caption, rows, baseName, partNames, columns, cells, empty }) {
  if (!rows.length) return emptyFigure(title, caption, empty);
  const sum = (parts) => parts.reduce((s, p) => s + p.value, 0);
  const max = Math.max(1, ...rows.map((r) => Math.max(r.base, sum(r.parts))));
  const width = (n) => `${(100 * n) / max}%`;
  const legend = h(
    "ul",
    { class: "legend" },
    h("li", {}, h("span", { class: "swatch base" }), baseName),
    partNames.map((name, i) => h("li", {}, h("span", { class: `swatch part-${i % 4}` }), name)),
  );
  const bars = h(
    "ol",
    { class: "bars funnel" },
    rows.map((row) => {
      const base = h("span", { class: "bar base" });
      base.style.width = width(row.base);
      const track = h("span", { class: "bar-track" });
      for (const part of row.parts) {
        const segment = h("span", { class: `bar part-${partNames.indexOf(part.name) % 4}` });
        segment.style.width = width(part.value);
        track.append(segment);
      }
      return h(
        "li",
        {},
        h("span", { class: "bar-label" }, row.label),
        h("span", { class: "pair" }, h("span", { class: "bar-track" }, base), track),
        h("span", { class: "bar-value" }, `${formatNumber(row.base)} → ${formatNumber(sum(row.parts))}`),
      );
    }),
  );
  const summary = `${title}: ${rows.map((r) => `${r.label}: ${formatNumber(r.base)} ${baseName.toLowerCase()}, ${formatNumber(sum(r.parts))} signatures`).join("; ")}.`;
  return chartFigure({ title, caption, summary, visual: h("div", {}, legend, bars), table: dataTable(title, columns, cells) });
}

const SHORT_DAY = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", timeZone: "UTC" });

/** Daily counts over every day of the range (days without any count are zeros). */
export function dailySeries(days, from, to) {
  const byDay = new Map(days.map((d) => [d.day, d]));
  const known = days.map((d) => d.day).sort();
  const first = from || known[0];
  const last = to || new Date().toISOString().slice(0, 10);
  if (!first) return [];
  let cumulative = 0;
  return daysBetween(first, last).map((day) => {
    const found = byDay.get(day) || { signatures: 0, newSupporters: 0, returning: 0 };
    cumulative += found.signatures;
    return { day, signatures: found.signatures, newSupporters: found.newSupporters, returning: found.returning, cumulative };
  });
}

/**
 * Signatures per day (bars) and their running total over the range (line), with a table.
 * Returns {node, update(days, from, to)} so live polling redraws without rebuilding.
 */
export function dayChart({ title, caption }) {
  const holder = h("div", { class: "plot" });
  const tableBox = h("div", {});
  const figure = chartFigure({ title, caption, summary: title, visual: holder, table: tableBox, className: "wide" });
  const visual = figure.querySelector(".visual");
  const nothing = h("p", { class: "nothing", hidden: true }, "No signatures in this range yet.");
  figure.insertBefore(nothing, visual);
  let plot = null;
  let observer = null;

  function draw(series) {
    const data = [
      series.map((d) => Date.parse(`${d.day}T00:00:00Z`) / 1000),
      series.map((d) => d.signatures),
      series.map((d) => d.cumulative),
    ];
    const width = Math.max(240, holder.clientWidth || visual.clientWidth || 320);
    if (plot) {
      plot.setData(data);
      return;
    }
    const uPlot = window.uPlot;
    const narrow = width < 500;
    plot = new uPlot(
      {
        width,
        height: narrow ? 220 : 280,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        // half a day either side, so that the first and last bars are whole
        scales: { x: { time: true, range: (u, min, max) => [min - 43200, max + 43200] }, y: { range: (u, min, max) => [0, Math.max(5, max * 1.1)] }, cum: { range: (u, min, max) => [0, Math.max(5, max * 1.05)] } },
        axes: [
          {
            stroke: "#333",
            grid: { stroke: "#e3e3e3" },
            space: narrow ? 60 : 80,
            incrs: [1, 2, 7, 14, 28, 56, 91, 182, 364].map((n) => n * 86400), // whole days
            values: (u, splits) => splits.map((ts) => SHORT_DAY.format(new Date(ts * 1000))),
          },
          { stroke: "#1f5f8b", grid: { stroke: "#e3e3e3" }, size: narrow ? 40 : 50, label: narrow ? null : "per day" },
          { scale: "cum", side: 1, stroke: "#a33a0b", grid: { show: false }, size: narrow ? 44 : 56, label: narrow ? null : "cumulative" },
        ],
        series: [
          {},
          { label: "Signatures per day", stroke: "#1f5f8b", fill: "rgba(31, 95, 139, 0.55)", paths: uPlot.paths.bars({ size: [0.7, 40] }), points: { show: false } },
          { label: "Cumulative", scale: "cum", stroke: "#a33a0b", width: 2, points: { show: false } },
        ],
      },
      data,
      holder,
    );
    observer = new ResizeObserver(() => {
      const now = holder.clientWidth;
      if (plot && now > 0 && Math.abs(now - plot.width) > 2) plot.setSize({ width: Math.max(240, now), height: plot.height });
    });
    observer.observe(holder);
  }

  function update(days, from, to) {
    const series = dailySeries(days, from, to);
    const total = series.reduce((s, d) => s + d.signatures, 0);
    const empty = series.length === 0 || total === 0;
    nothing.hidden = !empty;
    if (series.length) {
      const best = series.reduce((a, b) => (b.signatures > a.signatures ? b : a));
      visual.setAttribute(
        "aria-label",
        `${title}: ${formatNumber(total)} signatures from ${formatDay(series[0].day)} to ${formatDay(series[series.length - 1].day)}; the busiest day was ${formatDay(best.day)} with ${formatNumber(best.signatures)}.`,
      );
      // The picture needs layout: draw once the figure is in the document.
      requestAnimationFrame(() => draw(series));
    }
    fill(
      tableBox,
      dataTable(
        title,
        [
          { label: "Day (UTC)" },
          { label: "Signatures", numeric: true },
          { label: "New", numeric: true },
          { label: "Returning", numeric: true },
          { label: "Total so far", numeric: true },
        ],
        series.map((d) => [formatDay(d.day), d.signatures, d.newSupporters, d.returning, d.cumulative]),
      ),
    );
  }

  return {
    node: figure,
    update,
    destroy() {
      if (observer) observer.disconnect();
      if (plot) plot.destroy();
      plot = null;
    },
  };
}

