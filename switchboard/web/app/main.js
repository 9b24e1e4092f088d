// The Switchboard web client: wires the SDK to the page's views.

import { Switchboard } from "/sdk/switchboard.js";
import { mountAuthView } from "./auth-view.js";
import { mountCallView } from "./call-view.js";
import { mountCallsView } from "./calls-view.js";
import { $, displayName, paintAvatar, toast } from "./dom.js";
import { mountMissed } from "./missed.js";
import { mountPeopleView } from "./people-view.js";
import { mountSettingsView } from "./settings-view.js";
import { mountStatsView } from "./stats-view.js";

const sb = new Switchboard();
// Handy in the browser console, and used by the end-to-end tests to read WebRTC stats.
globalThis.switchboard = sb;

const authView = mountAuthView(sb);
const callView = mountCallView(sb);
const placeCall = (user, type) => callView.startCall(user, type);
const peopleView = mountPeopleView(sb, { onCall: placeCall });
const callsView = mountCallsView(sb, { onCall: placeCall });
const statsView = mountStatsView(sb);
const settingsView = mountSettingsView(sb);

// Signed-in screens, by the URL's hash (#people, #calls, #stats, #settings).
const ROUTES = {
  people: { view: "home", heading: "people-heading", controller: peopleView, title: "People" },
  calls: { view: "calls", heading: "calls-heading", controller: callsView, title: "Calls" },
  stats: { view: "stats", heading: "stats-heading", controller: statsView, title: "Statistics" },
  settings: { view: "settings", heading: "settings-heading", controller: settingsView, title: "Settings" },
};
let route = null;

const missed = mountMissed(sb, {
  isLogVisible: () => route === "calls",
  openLog: () => navigate("calls"),
});

const CONNECTION_LABELS = {
  connecting: "Connecting…",
  open: "Online",
  reconnecting: "Reconnecting…",
  closed: "Offline",
  replaced: "Open in another tab",
  unauthorized: "Signed out",
};

const VIEWS = ["loading", "auth", "home", "calls", "stats", "settings"];

function showView(name) {
  for (const view of VIEWS) $(`view-${view}`).hidden = view !== name;
  $("topbar").hidden = ["loading", "auth"].includes(name);
  document.body.dataset.signedIn = String(!["loading", "auth"].includes(name));
}

function routeFromHash() {
  const name = location.hash.replace(/^#\/?/, "");
  return ROUTES[name] ? name : "people";
}

/** Shows a signed-in screen; `focus` moves keyboard focus to its heading (after navigation). */
function openRoute(name, { focus = false } = {}) {
  const previous = route;
  route = name;
  const target = ROUTES[name];
  if (previous && previous !== name) ROUTES[previous].controller.hide?.();
  showView(target.view);
  for (const link of document.querySelectorAll("#main-nav a")) {
    if (link.dataset.view === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = name === "people" ? "Switchboard" : `${target.title} · Switchboard`;
  target.controller.show();
  if (name === "calls") missed.markSeen();
  if (focus) $(target.heading).focus();
}

function navigate(name) {
  if (location.hash !== `#${name}`) location.hash = `#${name}`;
  else if (sb.isSignedIn) openRoute(name, { focus: true });
}

addEventListener("hashchange", () => {
  if (sb.isSignedIn) openRoute(routeFromHash(), { focus: true });
});

function renderMe(user) {
  paintAvatar($("me-avatar"), user);
  $("me-name").textContent = displayName(user);
  $("me-username").textContent = `@${user.username}`;
}

sb.on("auth", ({ user, reason }) => {
  if (user) {
    renderMe(user);
    if (!route) openRoute(routeFromHash());
  } else {
    callView.stopRinging();
    callView.hide();
    if (route) ROUTES[route].controller.hide?.();
    route = null;
    showView("auth");
    authView.show();
    if (reason === "session_expired") toast("Your session expired. Please sign in again.");
  }
});

sb.on("ready", ({ user }) => renderMe(user));

sb.on("connection", ({ state }) => {
  const badge = $("conn-status");
  badge.dataset.state = state;
  badge.querySelector(".conn-label").textContent = CONNECTION_LABELS[state] ?? state;
  $("replaced-banner").hidden = state !== "replaced";
  if (state === "open") {
    peopleView.refresh();
    callsView.refresh();
  }
});

sb.on("warning", ({ message }) => toast(message));

$("use-here").addEventListener("click", () => sb.takeOver());
$("sign-out").addEventListener("click", async () => {
  $("sign-out").disabled = true;
  await sb.signOut();
  $("sign-out").disabled = false;
});

async function boot() {
  let user = null;
  try {
    user = await sb.restore();
  } catch {
    user = null;
  }
  if (!user) {
    showView("auth");
    authView.show();
  }
}

boot();
