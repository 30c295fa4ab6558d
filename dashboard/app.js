// The dashboard: login, the org and campaign pickers, the views, live polling.

import * as api from "./api.js";
import { fill, formatNumber, formatPercent, h, utcDay } from "./dom.js";
import { HAS_TARGETS, LIVE, ME, STAFF } from "./queries.js";
import { audience, partners, shares, sources } from "./views/breakdowns.js";
import { audit, delivery, exports } from "./views/manage.js";
import { overview } from "./views/overview.js";
import { targets } from "./views/targets.js";

const VIEWS = [overview, partners, sources, audience, shares, targets, delivery, exports, audit];
const POLL_MS = 5000;
const LIVE_VIEW_EVERY = 6; // polls: a live view (mail to target's drip) is asked again every 30 s
const PRESETS = [
  ["7", "Last 7 days"],
  ["30", "Last 30 days"],
  ["90", "Last 90 days"],
  ["all", "All time"],
];

const $ = (id) => document.getElementById(id);

const state = {
  user: null,
  org: null,
  campaign: null,
  owner: false,
  hasTargets: false, // the campaign has mail-to-target targets: its view is offered
  coverage: null,
  range: rangeOf("30"),
  view: null,
  mounted: null,
  generation: 0, // bumped on every view change: late answers of an old view are dropped
  lastActions: null,
  poll: 0,
  ticks: 0,
  shell: null,
};

function rangeOf(preset, from, to) {
  if (preset === "all") return { preset, from: null, to: null };
  if (preset === "custom") return { preset, from: from || null, to: to || null };
  return { preset, from: utcDay(1 - Number(preset)), to: utcDay(0) };
}

function statsVariables() {
  return {
    campaign: state.campaign.qualifiedName,
    org: state.org.name,
    from: state.range.from,
    to: state.range.to,
  };
}

function context() {
  return {
    org: state.org,
    campaign: state.campaign,
    coverage: state.coverage,
    range: state.range,
    owner: state.owner,
    announce,
    reload: () => reloadView(),
  };
}

function announce(message) {
  const status = $("status");
  if (status) status.textContent = message;
}

// --- login ---------------------------------------------------------------------------------

function showLogin(message) {
  stopPolling();
  if (state.mounted) state.mounted.destroy();
  state.mounted = null;
  state.shell = null;
  const app = $("app");
  app.replaceChildren();
  app.hidden = true;
  document.title = "Log in · Coalition Hub dashboard";
  $("login").hidden = false;
  $("login-message").textContent = message || "";
  $("login-error").textContent = "";
  $("login-password").value = "";
  $("login-submit").disabled = false;
  $("login-email").focus();
}

async function ssoOf(org) {
  const response = await fetch(`/dashboard/sso/${encodeURIComponent(org)}`, { credentials: "omit", cache: "no-store" });
  if (!response.ok) return null;
  const found = await response.json();
  return { title: found.title, url: `${found.loginUrl}?returnTo=${encodeURIComponent(found.returnTo)}` };
}

async function offerSso(org) {
  const sso = await ssoOf(org).catch(() => null);
  $("sso-box").dataset.checked = org;
  if (!sso) return;
  const link = $("sso-link");
  link.href = sso.url;
  link.textContent = `Log in with ${sso.title}'s single sign-on`;
  $("sso-box").hidden = false;
}

function wireLogin() {
  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = $("login-submit");
    const error = $("login-error");
    button.disabled = true;
    error.textContent = "";
    try {
      const failed = await api.login($("login-email").value.trim(), $("login-password").value);
      if (failed) {
        error.textContent = failed;
        $("login-password").focus();
        return;
      }
      await startApp();
    } catch (problem) {
      error.textContent = problem.message;
    } finally {
      button.disabled = false;
    }
  });
  $("sso-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $("sso-error");
    error.textContent = "";
    const sso = await ssoOf($("sso-org").value.trim()).catch(() => null);
    if (!sso) {
      error.textContent = "Single sign-on is not set up for that organisation: log in with your email and password.";
      return;
    }
    window.location.assign(sso.url);
  });
}

// --- the app -------------------------------------------------------------------------------

async function startApp() {
  const data = await api.request(ME);
  state.user = data.currentUser;
  $("login").hidden = true;
  $("login-password").value = "";
  if (!state.user || state.user.orgs.length === 0) {
    buildShell();
    fill($("view-body"), h("p", {}, "Your account is not staff of any organisation."));
    return;
  }
  const wanted = new URLSearchParams(window.location.search).get("org");
  state.org = state.user.orgs.find((o) => o.name === wanted) || state.user.orgs[0];
  buildShell();
  await selectOrg(state.org.name, false);
}

function buildShell() {
  const app = $("app");
  const orgs = state.user ? state.user.orgs : [];
  const orgPicker =
    orgs.length > 1
      ? h(
          "p",
          { class: "picker" },
          h("label", { for: "org-select" }, "Organisation"),
          h(
            "select",
            { id: "org-select", onchange: (e) => selectOrg(e.target.value, true) },
            orgs.map((o) => h("option", { value: o.name }, o.title)),
          ),
        )
      : h("p", { class: "picker" }, h("span", { class: "label" }, "Organisation"), h("strong", { id: "org-name" }, orgs[0] ? orgs[0].title : "–"));
  const campaignPicker = h("p", { class: "picker", id: "campaign-picker" });
  const nav = h(
    "ul",
    {},
    VIEWS.map((v) => h("li", { "data-view": v.id, hidden: !allowed(v) }, h("a", { href: `#${v.id}`, id: `nav-${v.id}` }, v.title))),
  );
  const presets = PRESETS.map(([value, label]) =>
    h("button", { type: "button", class: "preset", "data-preset": value, "aria-pressed": String(state.range.preset === value), onclick: () => setRange(rangeOf(value)) }, label),
  );
  const from = h("input", { type: "date", id: "range-from" });
  const to = h("input", { type: "date", id: "range-to" });
  const custom = h(
    "form",
    { class: "custom-range", onsubmit: (e) => (e.preventDefault(), setRange(rangeOf("custom", from.value, to.value))) },
    h("label", { for: "range-from" }, "From"),
    from,
    h("label", { for: "range-to" }, "to"),
    to,
    h("button", { type: "submit" }, "Apply"),
  );
  fill(
    app,
    h(
      "div",
      { class: "topbar" },
      h("div", { class: "pickers" }, orgPicker, campaignPicker),
      h(
        "p",
        { class: "who" },
        "Logged in as ",
        h("strong", { id: "user-email" }, state.user ? state.user.email : ""),
        " ",
        h("button", { type: "button", id: "logout", onclick: logout }, "Log out"),
      ),
    ),
    h("h1", { id: "campaign-title", class: "campaign-title" }, state.user && state.user.orgs.length ? "" : "Dashboard"),
    h("p", { id: "headline", class: "headline" }),
    h("p", { id: "status", class: "status", role: "status" }),
    h("nav", { "aria-label": "Dashboard views", class: "views" }, nav),
    h(
      "div",
      { id: "range", class: "range", role: "group", "aria-labelledby": "range-title" },
      h("span", { id: "range-title", class: "label" }, "Days (UTC)"),
      h("span", { class: "presets" }, presets),
      custom,
    ),
    h("section", { id: "view", "aria-labelledby": "view-title" }, h("h2", { id: "view-title", tabindex: "-1" }), h("div", { id: "view-body" })),
    h("p", { id: "live-note", class: "live" }),
  );
  app.hidden = false;
  state.shell = true;
  syncRange();
}

function syncRange() {
  for (const button of document.querySelectorAll("#range .preset")) {
    button.setAttribute("aria-pressed", String(button.dataset.preset === state.range.preset));
  }
  $("range-from").value = state.range.from || "";
  $("range-to").value = state.range.to || "";
}

async function selectOrg(name, announceIt) {
  state.org = state.user.orgs.find((o) => o.name === name);
  if ($("org-select")) $("org-select").value = name;
  const staff = await api.request(STAFF, { org: name }).catch(() => ({ staff: [] }));
  state.owner = staff.staff.some((s) => s.email === state.user.email && s.role === "OWNER");
  syncNav();
  const campaigns = state.org.campaigns;
  const picker = $("campaign-picker");
  if (!campaigns.length) {
    fill(picker, h("span", { class: "label" }, "Campaign"), h("strong", {}, "none"));
    state.campaign = null;
    state.hasTargets = false;
    syncNav();
    stopPolling();
    $("headline").textContent = "";
    $("view-title").textContent = state.org.title;
    fill($("view-body"), h("p", {}, "This organisation takes part in no campaign yet."));
    return;
  }
  fill(
    picker,
    h("label", { for: "campaign-select" }, "Campaign"),
    h(
      "select",
      { id: "campaign-select", onchange: (e) => selectCampaign(e.target.value) },
      campaigns.map((c) => h("option", { value: c.qualifiedName }, c.title)),
    ),
  );
  if (announceIt) announce(`Showing ${state.org.title}.`);
  await selectCampaign(campaigns[0].qualifiedName);
}

async function selectCampaign(qualifiedName) {
  state.campaign = state.org.campaigns.find((c) => c.qualifiedName === qualifiedName);
  $("campaign-select").value = qualifiedName;
  document.title = `${state.campaign.title} · Coalition Hub dashboard`;
  $("campaign-title").textContent = state.campaign.title;
  state.coverage = null;
  state.lastActions = null;
  const campaign = state.campaign;
  const probe = await api.request(HAS_TARGETS, statsVariables()).catch(() => null);
  if (campaign !== state.campaign) return; // another campaign was picked meanwhile
  state.hasTargets = Boolean(probe && probe.campaignStats && probe.campaignStats.targets);
  syncNav();
  await tick();
  startPolling();
  await route(false);
}

function setRange(range) {
  state.range = range;
  syncRange();
  const view = currentView();
  if (view.ranged) showView(view, false);
  tick();
}

// --- views ---------------------------------------------------------------------------------

function allowed(view) {
  return view && (!view.ownersOnly || state.owner) && (!view.needsTargets || state.hasTargets);
}

function syncNav() {
  for (const item of document.querySelectorAll("nav.views li")) {
    item.hidden = !allowed(VIEWS.find((v) => v.id === item.dataset.view));
  }
}

function currentView() {
  return VIEWS.find((v) => v.id === state.view) || overview;
}

function route(focus) {
  if (!state.shell || !state.campaign) return Promise.resolve();
  const id = window.location.hash.slice(1);
  const view = VIEWS.find((v) => v.id === id);
  return showView(allowed(view) ? view : allowed(currentView()) ? currentView() : overview, focus);
}

async function load(view) {
  if (view.load) return view.load(context());
  const data = await api.request(view.query, statsVariables());
  if (!data.campaignStats) throw new api.ApiError("This campaign's numbers are not yours to see.", "NOT_FOUND");
  return data.campaignStats;
}

async function showView(view, focus) {
  state.generation += 1;
  const generation = state.generation;
  if (state.mounted) state.mounted.destroy();
  state.view = view.id;
  for (const link of document.querySelectorAll("nav.views a")) {
    if (link.id === `nav-${view.id}`) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  $("range").hidden = !view.ranged;
  const title = $("view-title");
  title.textContent = view.title;
  const section = $("view");
  const body = $("view-body");
  body.replaceChildren(h("p", { class: "loading" }, "Loading…"));
  section.setAttribute("aria-busy", "true");
  if (focus) title.focus();
  try {
    const data = await load(view);
    if (generation !== state.generation) return;
    body.replaceChildren();
    state.mounted = view.mount(body, context());
    state.mounted.update(data, context());
  } catch (error) {
    if (generation !== state.generation) return;
    state.mounted = null;
    fill(body, h("p", { class: "error" }, error.message));
  } finally {
    if (generation === state.generation) section.removeAttribute("aria-busy");
  }
}

async function reloadView() {
  const view = currentView();
  const generation = state.generation;
  const data = await load(view);
  if (generation === state.generation && state.mounted) state.mounted.update(data, context());
}

// --- live ----------------------------------------------------------------------------------

function headline(stats) {
  const node = $("headline");
  if (!node) return;
  const parts = [h("strong", { id: "headline-supporters" }, formatNumber(stats.supporters)), " supporters"];
  if (stats.goal) parts.push(` · ${formatPercent(stats.supporters / stats.goal)} of the goal of ${formatNumber(stats.goal)}`);
  fill(node, ...parts);
  const stamp = new Date().toISOString().slice(11, 19);
  $("live-note").textContent = `Live: the numbers update every ${POLL_MS / 1000} seconds while this tab is open (last update ${stamp} UTC).`;
}

async function tick() {
  if (!state.campaign || !api.loggedIn()) return;
  const campaign = state.campaign;
  let stats;
  try {
    stats = (await api.request(LIVE, statsVariables())).campaignStats;
  } catch (error) {
    announce(error.message);
    return;
  }
  if (!stats || campaign !== state.campaign) return;
  state.coverage = stats.coverage;
  headline(stats);
  const changed = state.lastActions !== null && stats.actions !== state.lastActions;
  state.lastActions = stats.actions;
  state.ticks += 1;
  const view = currentView();
  const due = view.live && state.ticks % LIVE_VIEW_EVERY === 0;
  if (view === overview && state.mounted) state.mounted.update(stats, context());
  else if ((changed && (view.ranged || view.live)) || due) {
    if (state.mounted) reloadView().catch(() => {});
  }
}

function startPolling() {
  stopPolling();
  if (!document.hidden) state.poll = setInterval(tick, POLL_MS);
}

function stopPolling() {
  clearInterval(state.poll);
  state.poll = 0;
}

document.addEventListener("visibilitychange", () => {
  if (!state.campaign || !api.loggedIn()) return;
  if (document.hidden) {
    stopPolling(); // a hidden tab costs the hub nothing
  } else {
    tick();
    startPolling();
  }
});

window.addEventListener("hashchange", () => {
  const id = window.location.hash.slice(1);
  if (VIEWS.some((v) => v.id === id)) route(true);
});

async function logout() {
  stopPolling();
  await api.logout();
  state.user = null;
  state.campaign = null;
  history.replaceState(null, "", window.location.pathname + window.location.search);
  showLogin("You have logged out.");
}

// --- start ---------------------------------------------------------------------------------

async function main() {
  api.onSessionEnd((message) => {
    state.campaign = null;
    showLogin(message);
  });
  wireLogin();
  const hash = window.location.hash;
  if (hash.startsWith("#login_code=")) {
    // Back from the org's identity provider (hub/sso_routes.py): the code works once.
    const code = decodeURIComponent(hash.slice("#login_code=".length));
    history.replaceState(null, "", window.location.pathname + window.location.search);
    const failed = await api.completeSso(code).catch((error) => error.message);
    if (!failed) {
      await startApp();
      return;
    }
    showLogin();
    $("login-error").textContent = failed;
    return;
  }
  showLogin();
  const org = new URLSearchParams(window.location.search).get("org");
  if (org) offerSso(org);
}

main();
