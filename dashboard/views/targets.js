// Mail to target: the messages supporters wrote to the campaign's targets, per target and
// per area. The campaign's lead and coordinators get the details (held for moderation or by
// the pause, cancelled, the targets' addresses and their bounces, the sending window); any
// other partner gets the public counters the widget shows, which never hold an address.
// The API decides (orgs/targets/service.py): for anyone else the details come back null.

import { request } from "../api.js";
import { barChart, dataTable } from "../charts.js";
import { fill, formatNumber, h } from "../dom.js";
import { TARGET_COUNTS, TARGET_DETAILS } from "../queries.js";

const areaName = (area) => area || "(no area)";
const MODES = { SERVER: "the hub sends them", MAILTO: "signers send them from their own mail app", BOTH: "the hub, or the signer's own mail app" };
const MODERATION = {
  NONE: "none: messages go as they come",
  ALL: "every message waits for a coordinator's approval",
  WORDS: "a message with a listed word waits for a coordinator's approval",
};
const EMAIL_STATUS = { ACTIVE: "active", BOUNCED: "bounced", DISABLED: "disabled" };

/** Everything a signer wrote, whatever became of it. */
const written = (m) => m.sent + m.queued + m.held + m.failed + m.cancelled + m.clicks;
const byPause = (m) => m.held - m.heldForModeration;
const messages = (n) => `${formatNumber(n)} ${n === 1 ? "message" : "messages"}`;

function cards(items) {
  return h(
    "dl",
    { class: "cards" },
    items.map(([label, value, id]) => h("div", { class: "card" }, h("dt", {}, label), h("dd", { id }, formatNumber(value)))),
  );
}

const DETAIL_COLUMNS = [
  { label: "Written", numeric: true },
  { label: "Sent", numeric: true },
  { label: "Queued", numeric: true },
  { label: "Awaiting moderation", numeric: true },
  { label: "Held by the pause", numeric: true },
  { label: "Failed", numeric: true },
  { label: "Cancelled", numeric: true },
  { label: "Mail app", numeric: true },
];
const detailCells = (m) => [written(m), m.sent, m.queued, m.heldForModeration, byPause(m), m.failed, m.cancelled, m.clicks];

function clock(window) {
  const days =
    window.startsOn || window.endsOn ? `from ${window.startsOn || "now"} to ${window.endsOn || "no end"}, ` : "every day, ";
  return `${days}${window.dailyStart}–${window.dailyEnd} (${window.timezone}), at most ${formatNumber(window.hourlyCap)} per target and hour`;
}

function settingsSection(settings, totals) {
  const paused = settings.paused;
  const awaiting = totals.heldForModeration;
  return h(
    "section",
    { class: "mtt-state", "aria-labelledby": "mtt-state-title" },
    h("h3", { id: "mtt-state-title" }, "Sending"),
    h(
      "p",
      { id: "mtt-paused", class: paused ? "state paused" : "state sending" },
      paused
        ? `⏸ Paused: nothing goes to the targets until a coordinator resumes (${messages(byPause(totals))} held).`
        : "✓ Sending: messages go out over the sending window.",
    ),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "How messages go"),
      h("dd", {}, MODES[settings.mode] || settings.mode),
      h("dt", {}, "Sending window"),
      h("dd", { id: "mtt-window" }, clock(settings.window)),
      h("dt", {}, "Moderation"),
      h("dd", { id: "mtt-moderation" }, MODERATION[settings.moderation] || settings.moderation),
      h("dt", {}, "Awaiting moderation"),
      h("dd", { id: "mtt-awaiting" }, awaiting ? `${messages(awaiting)} (approve or reject them with moderateTargetMessages)` : "none"),
    ),
  );
}

function addressTable(targets) {
  const rows = targets.flatMap((t) =>
    t.emails.map((e) => [
      `${t.name} (${t.externalId})`,
      e.email,
      EMAIL_STATUS[e.status] || e.status,
      e.softBounces,
      e.lastError || "–",
    ]),
  );
  return h(
    "section",
    { class: "addresses", "aria-labelledby": "mtt-addresses-title" },
    h("h3", { id: "mtt-addresses-title" }, "Target addresses"),
    h("p", { class: "caption" }, "Only active addresses get mail; a server's refusal marks an address bounced. Shown to the campaign's lead and coordinators only."),
    rows.length
      ? h(
          "div",
          { class: "table-scroll", tabindex: "0", role: "region", "aria-label": "Target addresses, table" },
          dataTable(
            "Target addresses",
            [{ label: "Target" }, { label: "Address" }, { label: "Status" }, { label: "Soft bounces", numeric: true }, { label: "Last error" }],
            rows,
          ),
        )
      : h("p", { class: "nothing" }, "No target has an address."),
  );
}

function details(data) {
  const areas = data.campaignTargetAreas;
  const targets = data.campaignTargets;
  const totals = { sent: 0, queued: 0, held: 0, heldForModeration: 0, failed: 0, cancelled: 0, clicks: 0 };
  for (const a of areas) for (const key of Object.keys(totals)) totals[key] += a.messages[key];
  const note = "Every page of the campaign; test messages are not counted.";
  return [
    settingsSection(data.mailToTarget, totals),
    cards([
      ["Sent", totals.sent, "mtt-sent"],
      ["Queued", totals.queued, "mtt-queued"],
      ["Awaiting moderation", totals.heldForModeration, "mtt-moderation-count"],
      ["Held by the pause", byPause(totals), "mtt-held-paused"],
      ["Failed", totals.failed, "mtt-failed"],
      ["Cancelled", totals.cancelled, "mtt-cancelled"],
      ["Sent from the mail app", totals.clicks, "mtt-clicks"],
    ]),
    barChart({
      title: "Messages per area",
      caption: `${note} Written: every message signers wrote to the area's targets, whatever became of it.`,
      rows: areas.map((a) => ({
        label: areaName(a.area),
        value: written(a.messages),
        cells: [areaName(a.area), a.targets, ...detailCells(a.messages)],
      })),
      columns: [{ label: "Area" }, { label: "Targets", numeric: true }, ...DETAIL_COLUMNS],
      empty: "The campaign has no targets.",
    }),
    barChart({
      title: "Messages per target",
      caption: `${note} Disabled targets are marked; they get nothing more.`,
      rows: targets.map((t) => {
        const name = `${t.name}${t.active ? "" : " (disabled)"}`;
        return { label: name, value: written(t.messages), cells: [name, areaName(t.area), ...detailCells(t.messages)] };
      }),
      columns: [{ label: "Target" }, { label: "Area" }, ...DETAIL_COLUMNS],
      empty: "The campaign has no targets.",
    }),
    addressTable(targets),
  ];
}

const PUBLIC_COLUMNS = [
  { label: "Sent", numeric: true },
  { label: "Still to go", numeric: true },
  { label: "Failed", numeric: true },
  { label: "Mail app", numeric: true },
];
const publicCells = (c) => [c.sent, c.queued, c.failed, c.clicks];
const publicTotal = (c) => c.sent + c.queued + c.failed + c.clicks;

function counters(stats, managerRole) {
  const note = "The public counters, the same as the widget's (test messages are not counted).";
  return [
    h(
      "p",
      { class: "note" },
      managerRole
        ? "The details (held messages, addresses, the sending window) need a role that manages the campaign (owner or campaign manager). Here are the public counters."
        : "The campaign's lead and coordinators manage the targets. Here are the public counters every partner and the widget see.",
    ),
    cards([
      ["Sent", stats.sent, "mtt-sent"],
      ["Still to go", stats.queued, "mtt-queued"],
      ["Failed", stats.failed, "mtt-failed"],
      ["Sent from the mail app", stats.clicks, "mtt-clicks"],
    ]),
    barChart({
      title: "Messages per area",
      caption: note,
      rows: stats.byArea.map((a) => ({ label: areaName(a.area), value: publicTotal(a), cells: [areaName(a.area), ...publicCells(a)] })),
      columns: [{ label: "Area" }, ...PUBLIC_COLUMNS],
      empty: "No message to a target yet.",
    }),
    barChart({
      title: "Messages per target",
      caption: note,
      rows: stats.byTarget.map((t) => ({ label: t.name, value: publicTotal(t), cells: [t.name, areaName(t.area), ...publicCells(t)] })),
      columns: [{ label: "Target" }, { label: "Area" }, ...PUBLIC_COLUMNS],
      empty: "No message to a target yet.",
    }),
  ];
}

export const targets = {
  id: "targets",
  title: "Mail to target",
  ranged: false,
  live: true, // asked again when the counts change, and now and then while open (the drip)
  needsTargets: true,
  async load(ctx) {
    const variables = { campaign: ctx.campaign.qualifiedName, org: ctx.org.name };
    // Only the lead and coordinators (whose breakdowns cover the campaign) ask for the
    // details; the API answers them null to anyone whose role does not manage the campaign.
    const data = await request(ctx.coverage === "CAMPAIGN" ? TARGET_DETAILS : TARGET_COUNTS, variables);
    if (!data.campaignStats) throw new Error("This campaign's numbers are not yours to see.");
    return { ...data, managerRole: ctx.coverage === "CAMPAIGN" };
  },
  mount(body) {
    let shown = null;
    return {
      update(data) {
        // asked again now and then: redraw only what changed, and keep open tables open
        const answer = JSON.stringify(data);
        if (answer === shown) return;
        shown = answer;
        const open = new Set(
          [...body.querySelectorAll("figure.chart")]
            .filter((f) => f.querySelector("button.toggle[aria-expanded=true]"))
            .map((f) => f.querySelector("h3").textContent),
        );
        const stats = data.campaignStats.targets;
        if (!stats) {
          fill(body, h("p", { class: "nothing" }, "This campaign has no targets."));
          return;
        }
        const full = data.campaignTargets && data.campaignTargetAreas && data.mailToTarget;
        // the details' tables are wide: on a phone they scroll inside their own boxes
        fill(body, full ? h("div", { class: "mtt-details" }, details(data)) : counters(stats, data.managerRole));
        for (const figure of body.querySelectorAll("figure.chart")) {
          if (open.has(figure.querySelector("h3").textContent)) figure.querySelector("button.toggle").click();
        }
      },
      destroy() {},
    };
  },
};
