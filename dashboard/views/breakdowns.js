// The breakdowns: partners and pages, sources, audience, the share funnel. The API decides
// what each org sees (DESIGN §5): the lead and coordinators get every page, any other partner
// its own pages; these views only draw what comes back.

import { barChart, dataTable, funnelChart } from "../charts.js";
import { formatNumber, formatPercent, h, keyLabel } from "../dom.js";
import { AUDIENCE, PARTNERS, SHARES, SOURCES } from "../queries.js";
import { countryLabel, coverageNote, rowsOf } from "./common.js";

const peopleLabel = (key) => ({ new: "New to the campaign", returning: "Signed before (returning)" })[key] || keyLabel(key);
const flagLabel = (key) =>
  ({
    altcha: "Proof-of-work check failed",
    honeypot: "Filled in the bot trap",
    too_fast: "Sent too fast after the form appeared",
    no_render_time: "Form sent without its render time",
    bad_render_time: "Form sent with a forged render time",
    rejected: "“It wasn't me”: rejected by the address owner",
  })[key] ||
  keyLabel(key);

function simple(mount) {
  return (body, ctx) => ({
    update(stats) {
      body.replaceChildren(...mount(stats, ctx));
    },
    destroy() {},
  });
}

export const partners = {
  id: "partners",
  title: "Partners and pages",
  ranged: true,
  query: PARTNERS,
  mount: simple((stats) => {
    const out = [];
    if (stats.partners) {
      out.push(
        barChart({
          title: "Signatures by partner",
          caption: "Every partner of the campaign, with its new supporters and all counted actions.",
          rows: stats.partners.map((p) => ({
            label: p.org,
            value: p.signatures,
            cells: [p.org, p.signatures, p.newSupporters, p.actions],
          })),
          columns: [
            { label: "Partner" },
            { label: "Signatures", numeric: true },
            { label: "New supporters", numeric: true },
            { label: "Actions", numeric: true },
          ],
        }),
      );
    } else {
      out.push(h("p", { class: "note" }, "Per-partner figures are for the campaign's lead and coordinators. Here are your own pages."));
    }
    out.push(
      barChart({
        title: stats.coverage === "CAMPAIGN" ? "Signatures by page" : "Signatures on your pages",
        caption: coverageNote(stats.coverage),
        rows: stats.pages.map((p) => ({
          label: p.page,
          value: p.signatures,
          cells: [p.page, p.org, p.signatures, p.newSupporters],
        })),
        columns: [
          { label: "Page" },
          { label: "Organisation" },
          { label: "Signatures", numeric: true },
          { label: "New supporters", numeric: true },
        ],
      }),
    );
    return out;
  }),
};

export const sources = {
  id: "sources",
  title: "Sources",
  ranged: true,
  query: SOURCES,
  mount: simple((stats) => {
    const caption = `${coverageNote(stats.coverage)} From the links' utm_ tags.`;
    return [
      barChart({ title: "Signatures by source", caption, rows: rowsOf(stats.source), keyHeading: "Source (utm_source)", valueHeading: "Signatures" }),
      barChart({ title: "Signatures by medium", caption, rows: rowsOf(stats.medium), keyHeading: "Medium (utm_medium)", valueHeading: "Signatures" }),
      barChart({ title: "Signatures by UTM campaign", caption, rows: rowsOf(stats.utm), keyHeading: "UTM campaign (utm_campaign)", valueHeading: "Signatures" }),
    ];
  }),
};

export const audience = {
  id: "audience",
  title: "Audience",
  ranged: true,
  query: AUDIENCE,
  mount: simple((stats) => {
    const doi = stats.doubleOptIn;
    const caption = coverageNote(stats.coverage);
    const rate = h(
      "section",
      { class: "doi", "aria-labelledby": "doi-title" },
      h("h3", { id: "doi-title" }, "Double opt-in confirmation"),
      doi.asked
        ? h(
            "p",
            { id: "doi-rate" },
            h("strong", {}, formatPercent(doi.rate)),
            ` confirmed: ${formatNumber(doi.confirmed)} of ${formatNumber(doi.asked)} people asked to confirm their address.`,
          )
        : h("p", { id: "doi-rate" }, "Nobody was asked to confirm an address (no page uses double opt-in)."),
      doi.asked ? h("progress", { max: String(doi.asked), value: String(doi.confirmed), "aria-labelledby": "doi-title" }) : null,
      h("p", { class: "caption" }, `${caption} Whole campaign so far (not limited to the range).`),
    );
    return [
      barChart({
        title: "New supporters by country",
        caption: `${caption} The country people gave, counted once per person.`,
        rows: rowsOf(stats.country, countryLabel),
        keyHeading: "Country",
        valueHeading: "New supporters",
      }),
      barChart({
        title: "New to the campaign or returning",
        caption: `${caption} Returning: the person had signed another page of the campaign before.`,
        rows: rowsOf(stats.people, peopleLabel),
        keyHeading: "Signers",
        valueHeading: "Signatures",
      }),
      rate,
      barChart({
        title: "Flagged signatures",
        caption: `${caption} Not counted in any total; by reason.`,
        rows: rowsOf(stats.flagged, flagLabel),
        keyHeading: "Reason",
        valueHeading: "Signatures",
        empty: "No flagged signatures in this range.",
      }),
    ];
  }),
};

export const shares = {
  id: "shares",
  title: "Shares",
  ranged: true,
  query: SHARES,
  mount: simple((stats) => {
    const generations = [...new Set(stats.shares.flatMap((s) => s.byGeneration.map((g) => g.generation)))].sort((a, b) => a - b);
    const generationName = (g) => `Generation ${g}`;
    const partName = (g) => `Signatures, ${generationName(g).toLowerCase()}`;
    const funnel = funnelChart({
      title: "Share funnel",
      caption: `${coverageNote(stats.coverage)} Shares by medium and the signatures their links brought, per generation (1: shared by someone who came directly; 2: by someone a share brought; …).`,
      rows: stats.shares.map((s) => ({
        label: keyLabel(s.medium),
        base: s.shares,
        parts: s.byGeneration.map((g) => ({ name: partName(g.generation), value: g.signatures })),
      })),
      baseName: "Shares",
      partNames: generations.map(partName),
      columns: [
        { label: "Medium" },
        { label: "Shares", numeric: true },
        { label: "Signatures brought", numeric: true },
        ...generations.map((g) => ({ label: generationName(g), numeric: true })),
      ],
      cells: stats.shares.map((s) => [
        keyLabel(s.medium),
        s.shares,
        s.signatures,
        ...generations.map((g) => (s.byGeneration.find((x) => x.generation === g) || { signatures: 0 }).signatures),
      ]),
      empty: "No shares in this range yet.",
    });
    const referrals = stats.referrals.length
      ? h(
          "div",
          { class: "table-scroll", tabindex: "0", role: "region", "aria-label": "Referrals, table" },
          dataTable(
          "Signatures brought by shares, by the sharer's page",
          [{ label: "Generation" }, { label: "Sharer's page" }, { label: "Medium" }, { label: "Signatures", numeric: true }],
          stats.referrals.map((r) => [String(r.generation), r.sharerPage || "another partner's page", keyLabel(r.medium), r.signatures]),
          ),
        )
      : h("p", { class: "nothing" }, "No signature came through a share in this range.");
    return [funnel, h("section", { class: "referrals", "aria-labelledby": "referrals-title" }, h("h3", { id: "referrals-title" }, "Referrals"), referrals)];
  }),
};
