// The Switchboard web client: wires the SDK to the page's views.

import { Switchboard } from "/sdk/switchboard.js";
import { mountAuthView } from "./auth-view.js";
import { mountCallView } from "./call-view.js";
import { $, displayName, paintAvatar, toast } from "./dom.js";
import { mountPeopleView } from "./people-view.js";

const sb = new Switchboard();
// Handy in the browser console, and used by the end-to-end tests to read WebRTC stats.
globalThis.switchboard = sb;

const authView = mountAuthView(sb);
const callView = mountCallView(sb);
const peopleView = mountPeopleView(sb, { onCall: (user, type) => callView.startCall(user, type) });

const CONNECTION_LABELS = {
  connecting: "Connecting…",
  open: "Online",
  reconnecting: "Reconnecting…",
  closed: "Offline",
  replaced: "Open in another tab",
  unauthorized: "Signed out",
};

function showView(name) {
  for (const view of ["loading", "auth", "home"]) $(`view-${view}`).hidden = view !== name;
  $("topbar").hidden = name !== "home";
}

function renderMe(user) {
  paintAvatar($("me-avatar"), user);
  $("me-name").textContent = displayName(user);
  $("me-username").textContent = `@${user.username}`;
}

sb.on("auth", ({ user, reason }) => {
  if (user) {
    renderMe(user);
    if ($("view-home").hidden) {
      showView("home");
      peopleView.show();
    }
  } else {
    callView.stopRinging();
    callView.hide();
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
  if (state === "open") peopleView.refresh();
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
