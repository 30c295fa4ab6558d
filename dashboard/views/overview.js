// Campaign overview: the totals every partner sees, goal progress, signatures per day.

import { dayChart } from "../charts.js";
import { formatNumber, formatPercent, h } from "../dom.js";
import { LIVE } from "../queries.js";
import { coverageNote } from "./common.js";

export const overview = {
  id: "overview",
  title: "Overview",
  ranged: true,
  query: LIVE,

  mount(body, ctx) {
    const supporters = h("dd", { id: "total-supporters" }, "–");
    const actions = h("dd", { id: "total-actions" }, "–");
    const goal = h("dd", { id: "goal" }, "–");
    const progressLabel = h("p", { id: "goal-progress-label", class: "progress-label" });
    const progress = h("progress", { id: "goal-progress", max: "1", value: "0", "aria-labelledby": "goal-progress-label" });
    const types = h("ul", { class: "types" });
    const chart = dayChart({ title: "Signatures per day", caption: coverageNote(ctx.coverage) });
    body.append(
      h(
        "dl",
        { class: "cards" },
        h("div", { class: "card" }, h("dt", {}, "Supporters"), supporters),
        h("div", { class: "card" }, h("dt", {}, "Actions"), actions),
        h("div", { class: "card" }, h("dt", {}, "Goal"), goal),
      ),
      h("div", { class: "goal-box" }, progressLabel, progress),
      h("section", { class: "by-type", "aria-labelledby": "by-type-title" }, h("h3", { id: "by-type-title" }, "Actions by type"), types),
      chart.node,
    );
    return {
      update(stats, context) {
        const total = stats.supporters;
        supporters.textContent = formatNumber(total);
        actions.textContent = formatNumber(stats.actions);
        if (stats.goal) {
          goal.textContent = formatNumber(stats.goal);
          const rate = total / stats.goal;
          progressLabel.textContent = `${formatNumber(total)} of ${formatNumber(stats.goal)} supporters: ${formatPercent(rate)} of the goal`;
          progress.max = stats.goal;
          progress.value = Math.min(total, stats.goal);
          progress.hidden = false;
        } else {
          goal.textContent = "none set";
          progressLabel.textContent = "This campaign has no goal.";
          progress.hidden = true;
        }
        types.replaceChildren(
          ...(stats.byType.length
            ? stats.byType.map((t) => h("li", {}, h("span", { class: "type" }, t.key), " ", formatNumber(t.count)))
            : [h("li", {}, "No actions yet.")]),
        );
        chart.update(stats.days, context.range.from, context.range.to);
      },
      destroy() {
        chart.destroy();
      },
    };
  },
};
