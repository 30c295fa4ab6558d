// The org's own business: delivery health per connector, contact exports, the audit log.

import { request } from "../api.js";
import { fill, formatNumber, formatTime, h } from "../dom.js";
import { AUDIT, CONNECTORS, EXPORT, RETRY } from "../queries.js";

function stat(label, value, className) {
  return h("div", { class: `stat ${className || ""}`.trim() }, h("dt", {}, label), h("dd", {}, value));
}

export const delivery = {
  id: "delivery",
  title: "Delivery",
  ranged: false,
  async load(ctx) {
    const data = await request(CONNECTORS, { org: ctx.org.name });
    return data.connectors;
  },
  mount(body, ctx) {
    return {
      update(connectors) {
        if (!connectors.length) {
          fill(
            body,
            h("p", { class: "nothing" }, "No connectors to show: this organisation has none, or your role does not manage them."),
          );
          return;
        }
        fill(
          body,
          h("p", { class: "caption" }, "Where this organisation's new supporters go (its CRM, mailing tool or webhook), and how that is going."),
          h(
            "ul",
            { class: "connectors" },
            connectors.map((c) => {
              const health = c.health;
              const result = h("p", { class: "result", role: "status" });
              const button = h(
                "button",
                { type: "button", class: "retry", disabled: health.failed === 0, "aria-describedby": `failed-${c.id}` },
                `Retry failed deliveries of ${c.name}`,
              );
              button.addEventListener("click", async () => {
                button.disabled = true;
                try {
                  const data = await request(RETRY, { org: ctx.org.name, connector: c.id });
                  const answer = data.retryDeliveries;
                  if (answer.errors) {
                    result.textContent = answer.errors.map((e) => e.message).join(" ");
                    button.disabled = false;
                    return;
                  }
                  ctx.announce(`${formatNumber(answer.count)} ${answer.count === 1 ? "delivery" : "deliveries"} of ${c.name} queued again.`);
                  await ctx.reload();
                } catch (error) {
                  result.textContent = error.message;
                  button.disabled = false;
                }
              });
              const failing = health.failed > 0 || health.retrying > 0;
              return h(
                "li",
                { class: `connector ${failing ? "failing" : "healthy"}`, "data-connector": c.name },
                h("h3", {}, c.name, " ", h("span", { class: "kind" }, `(${c.kind}${c.enabled ? "" : ", disabled"})`)),
                h("p", { class: "state" }, failing ? "⚠ Some deliveries are failing." : "✓ Delivering."),
                h(
                  "dl",
                  { class: "stats" },
                  stat("Delivered (24 h)", formatNumber(health.deliveredLastDay)),
                  stat("Pending", formatNumber(health.pending)),
                  stat("Retrying", formatNumber(health.retrying)),
                  stat("Waiting for confirmation", formatNumber(health.waiting)),
                  h("div", { class: "stat failed", id: `failed-${c.id}` }, h("dt", {}, "Failed"), h("dd", {}, formatNumber(health.failed))),
                ),
                h("p", {}, "Last delivered: ", formatTime(health.lastDeliveredAt)),
                health.lastError
                  ? h("p", { class: "last-error" }, "Last error (", formatTime(health.lastErrorAt), "): ", h("code", {}, health.lastError))
                  : null,
                h("p", {}, button),
                result,
              );
            }),
          ),
        );
      },
      destroy() {},
    };
  },
};

export const exports = {
  id: "exports",
  title: "Exports",
  ranged: false,
  async load() {
    return null;
  },
  mount(body, ctx) {
    const flagged = h("input", { type: "checkbox", id: "export-flagged" });
    const result = h("p", { class: "result", role: "status", id: "export-result" });
    async function download(format) {
      result.textContent = "Preparing the file…";
      try {
        const data = await request(EXPORT, {
          campaign: ctx.campaign.qualifiedName,
          org: ctx.org.name,
          format,
          flagged: flagged.checked,
        });
        const answer = data.exportContacts;
        if (answer.errors) {
          result.textContent = answer.errors.map((e) => e.message).join(" ");
          return;
        }
        // A short-lived signed link: the browser downloads it (Content-Disposition:
        // attachment); the contacts never pass through this page.
        const link = h("a", { href: answer.url, download: "" });
        document.body.append(link);
        link.click();
        link.remove();
        result.textContent = `Your ${format === "CSV" ? "CSV" : "JSON lines"} file is downloading. The export was recorded in the audit log.`;
      } catch (error) {
        result.textContent = error.message;
      }
    }
    fill(
      body,
      h(
        "p",
        {},
        "Download your organisation's contacts in this campaign: the people whose data it holds (signed on its pages or consented to it), with their consents and the source of each signature. Every export is recorded in the audit log; the link works for a few minutes.",
      ),
      h("p", {}, flagged, " ", h("label", { for: "export-flagged" }, "Include flagged contacts (a column says which)")),
      h(
        "p",
        { class: "buttons" },
        h("button", { type: "button", id: "export-csv", onclick: () => download("CSV") }, "Download CSV"),
        " ",
        h("button", { type: "button", id: "export-jsonl", onclick: () => download("JSONL") }, "Download JSON lines"),
      ),
      result,
    );
    return { update() {}, destroy() {} };
  },
};

const AUDIT_FILTERS = [
  ["", "Everything"],
  ["contacts.", "Exports"],
  ["staff.", "Staff and roles"],
  ["partner.", "Partnerships"],
  ["campaign.", "Campaigns"],
  ["page.", "Pages"],
  ["connector.", "Connectors"],
  ["sso.", "Single sign-on"],
  ["supporter.", "Supporters' requests"],
];

function actor(event) {
  if (event.actorEmail) return event.actorEmail;
  if (event.actorToken) return `API token “${event.actorToken}”`;
  return "the hub";
}

function details(json) {
  const entries = Object.entries(json || {});
  return entries.length ? entries.map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`).join(", ") : "–";
}

export const audit = {
  id: "audit",
  title: "Audit log",
  ranged: false,
  ownersOnly: true,
  async load(ctx) {
    const data = await request(AUDIT, { org: ctx.org.name, action: null, after: null });
    return data.auditLog;
  },
  mount(body, ctx) {
    const select = h(
      "select",
      { id: "audit-filter" },
      AUDIT_FILTERS.map(([value, label]) => h("option", { value }, label)),
    );
    const rows = h("tbody", {});
    const more = h("button", { type: "button", id: "audit-more", hidden: true }, "Show older events");
    const nothing = h("p", { class: "nothing", hidden: true }, "No events.");
    let cursor = null;
    function add(page) {
      for (const e of page.nodes) {
        rows.append(
          h(
            "tr",
            {},
            h("th", { scope: "row" }, formatTime(e.at)),
            h("td", {}, e.action),
            h("td", {}, actor(e)),
            h("td", {}, e.subjectType ? `${e.subjectType}${e.subjectId !== null ? ` #${e.subjectId}` : ""}` : "–"),
            h("td", { class: "details" }, details(e.details)),
          ),
        );
      }
      cursor = page.endCursor;
      more.hidden = !cursor || page.nodes.length === 0;
      nothing.hidden = rows.children.length > 0;
    }
    async function fetchPage(after) {
      const data = await request(AUDIT, { org: ctx.org.name, action: select.value || null, after });
      return data.auditLog;
    }
    select.addEventListener("change", async () => {
      rows.replaceChildren();
      add(await fetchPage(null));
    });
    more.addEventListener("click", async () => add(await fetchPage(cursor)));
    fill(
      body,
      h("p", { class: "caption" }, "Who exported contacts and who changed roles, partnerships and settings, newest first. Only owners see it."),
      h("p", {}, h("label", { for: "audit-filter" }, "Show "), select),
      h(
        "div",
        { class: "table-scroll", tabindex: "0", role: "region", "aria-label": "Audit log events" },
        h(
          "table",
          { class: "data audit" },
          h("caption", { class: "sr-only" }, "Audit log"),
          h(
            "thead",
            {},
            h("tr", {}, ["When", "Action", "By", "Subject", "Details"].map((label) => h("th", { scope: "col" }, label))),
          ),
          rows,
        ),
      ),
      nothing,
      h("p", {}, more),
    );
    return {
      update(page) {
        rows.replaceChildren();
        add(page);
      },
      destroy() {},
    };
  },
};
