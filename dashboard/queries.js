// The GraphQL documents the dashboard sends: one per view, each within the hub's cost budget.
// Counts only: nothing here asks for a supporter's personal data (exports are files).

const STATS = "campaignStats(campaign: $campaign, org: $org)";
const VARS = "$campaign: String!, $org: String";
const RANGE = "$from: Date, $to: Date";
const IN_RANGE = "from: $from, to: $to";
const COUNT = "{ key count }";

export const ME = `query Me {
  currentUser { email orgs { name title campaigns { qualifiedName title goal status } } }
}`;

// Only owners (MANAGE_STAFF) see an org's staff: an empty list means "not an owner".
export const STAFF = `query Staff($org: String!) { staff(org: $org) { email role } }`;

// The cheap aggregates polled every few seconds: the counters and the days of the range.
export const LIVE = `query Live(${VARS}, ${RANGE}) {
  ${STATS} {
    supporters actions goal coverage byType ${COUNT}
    days(${IN_RANGE}) { day signatures newSupporters returning }
  }
}`;

export const PARTNERS = `query Partners(${VARS}, ${RANGE}) {
  ${STATS} {
    coverage
    partners(${IN_RANGE}) { org signatures newSupporters actions }
    pages(${IN_RANGE}) { page org signatures newSupporters }
  }
}`;

export const SOURCES = `query Sources(${VARS}, ${RANGE}) {
  ${STATS} {
    coverage
    source: breakdown(dimension: SOURCE, ${IN_RANGE}) ${COUNT}
    medium: breakdown(dimension: MEDIUM, ${IN_RANGE}) ${COUNT}
    utm: breakdown(dimension: UTM_CAMPAIGN, ${IN_RANGE}) ${COUNT}
  }
}`;

export const AUDIENCE = `query Audience(${VARS}, ${RANGE}) {
  ${STATS} {
    coverage
    country: breakdown(dimension: COUNTRY, ${IN_RANGE}) ${COUNT}
    people: breakdown(dimension: NEW_OR_RETURNING, ${IN_RANGE}) ${COUNT}
    flagged: breakdown(dimension: FLAGGED, ${IN_RANGE}) ${COUNT}
    doubleOptIn { asked confirmed rate }
  }
}`;

export const SHARES = `query Shares(${VARS}, ${RANGE}) {
  ${STATS} {
    coverage
    shares(${IN_RANGE}) { medium shares signatures byGeneration { generation signatures } }
    referrals(${IN_RANGE}) { generation sharerPage medium signatures }
  }
}`;

export const CONNECTORS = `query Connectors($org: String!) {
  connectors(org: $org) {
    id name kind enabled
    health {
      deliveredLastDay lastDeliveredAt pending retrying waiting failed lastError lastErrorAt
    }
  }
}`;

export const RETRY = `mutation Retry($org: String!, $connector: Int!) {
  retryDeliveries(input: {org: $org, connector: $connector}) {
    __typename
    ... on RetryDeliveriesSuccess { count }
    ... on RetryDeliveriesErrors { errors { code message } }
  }
}`;

export const EXPORT = `mutation Export(${VARS}, $format: ExportFormat!, $flagged: Boolean!) {
  exportContacts(input: {campaign: $campaign, org: $org, format: $format, includeFlagged: $flagged}) {
    __typename
    ... on ExportContactsSuccess { url expiresAt }
    ... on ExportContactsErrors { errors { code message } }
  }
}`;

export const AUDIT = `query Audit($org: String!, $action: String, $after: String) {
  auditLog(org: $org, action: $action, first: 25, after: $after) {
    nodes { id at action actorEmail actorToken subjectType subjectId details }
    endCursor
  }
}`;

// Mail to target. The public counters (no address) are every partner's; the details are the
// lead's and coordinators' (null for anyone else). No message text is asked for: reading
// those is audited, and the dashboard needs counts only.
export const HAS_TARGETS = `query HasTargets(${VARS}) { ${STATS} { targets { sent } } }`;

const TARGET_COUNTERS = "sent queued failed clicks";
const PUBLIC_TARGETS = `targets {
    ${TARGET_COUNTERS}
    byTarget { id name area ${TARGET_COUNTERS} }
    byArea { area ${TARGET_COUNTERS} }
  }`;
const BY_STATE = "messages { sent queued held heldForModeration failed cancelled clicks }";

export const TARGET_COUNTS = `query TargetCounts(${VARS}) { ${STATS} { ${PUBLIC_TARGETS} } }`;

export const TARGET_DETAILS = `query TargetDetails(${VARS}) {
  ${STATS} { ${PUBLIC_TARGETS} }
  campaignTargets(campaign: $campaign) {
    externalId name area active emails { email status softBounces lastError } ${BY_STATE}
  }
  campaignTargetAreas(campaign: $campaign) { area targets activeTargets ${BY_STATE} }
  mailToTarget(campaign: $campaign) {
    mode moderation paused
    window { startsOn endsOn dailyStart dailyEnd timezone hourlyCap }
  }
}`;
