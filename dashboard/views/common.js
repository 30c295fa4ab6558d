// What several views share.

import { countryName, keyLabel } from "../dom.js";

/** Which pages a breakdown counts, in words (the API's `coverage`). */
export function coverageNote(coverage) {
  return coverage === "CAMPAIGN"
    ? "Every page of the campaign."
    : "Your organisation's pages only (the campaign's lead and coordinators see every partner's).";
}

/** Breakdown rows ({key, count}) as chart rows, labelled for people. */
export function rowsOf(counts, label = keyLabel) {
  return counts.map((c) => ({ label: label(c.key), value: c.count }));
}

export const countryLabel = (key) => (key === "(rare)" ? keyLabel(key) : countryName(key));
