// The missed-call badge and missed-call notifications.
//
// The badge shows GET /calls/missed/count?unseen=true. Opening the call log marks missed calls
// seen (POST /calls/missed/seen) for all my devices, but the contract has no event that tells my
// other devices so. Each device therefore re-reads the count:
//   - when it gets any call event (call.*): a call of mine changed, maybe a missed one;
//   - when the window gets focus or the page becomes visible again;
//   - after every (re)connect (`ready`);
//   - every POLL_MS while the page is visible.
// So a device that shows the badge clears it within POLL_MS, or at once when someone looks at it.

import { $, displayName } from "./dom.js";
import { formatTime } from "./format.js";

export const POLL_MS = 30_000;
const EVENT_DEBOUNCE_MS = 300;

export function mountMissed(sb, { isLogVisible, openLog }) {
  const badge = $("missed-badge");
  const number = $("missed-badge-number");
  const text = $("missed-badge-text");
  let count = 0;
  let seq = 0;
  let debounce = null;
  let poller = null;

  function render() {
    badge.hidden = count <= 0;
    number.textContent = count > 99 ? "99+" : String(count);
    text.textContent = count === 1 ? "1 unseen missed call" : `${count} unseen missed calls`;
    badge.dataset.count = String(count);
  }

  const pageVisible = () => document.visibilityState !== "hidden";

  /** Re-reads the unseen count (or marks all seen when the log is on screen). */
  async function refresh() {
    if (!sb.isSignedIn) return;
    if (isLogVisible() && pageVisible()) return markSeen();
    const mine = ++seq;
    try {
      const value = await sb.missedCount({ unseen: true });
      if (mine === seq) {
        count = value;
        render();
      }
    } catch (err) {
      if (err.code !== "network_error" && err.code !== "unauthorized") {
        console.warn("[switchboard] missed count unavailable:", err.code);
      }
    }
  }

  /** The person is looking at the log: their missed calls are seen, on all their devices. */
  async function markSeen() {
    if (!sb.isSignedIn) return;
    const mine = ++seq;
    count = 0;
    render();
    try {
      await sb.markMissedSeen();
    } catch (err) {
      if (mine === seq) refresh();
    }
  }

  function soon() {
    clearTimeout(debounce);
    debounce = setTimeout(refresh, EVENT_DEBOUNCE_MS);
  }

  function notify(call) {
    if (!("Notification" in globalThis) || Notification.permission !== "granted") return;
    if (pageVisible()) return;
    const name = displayName(call.caller);
    const kind = call.callType === "video" ? "Video call" : "Audio call";
    try {
      const note = new Notification(`Missed call from ${name}`, {
        body: `${kind} · ${formatTime(call.startedAt)}`,
        tag: `missed-${call.id}`,
        icon: "/assets/logo.svg",
      });
      note.addEventListener("click", () => {
        globalThis.focus();
        openLog();
        note.close();
      });
    } catch (err) {
      // Some mobile browsers allow notifications only from a service worker.
      console.warn("[switchboard] notification not shown:", err?.name);
    }
  }

  function startPolling() {
    stopPolling();
    poller = setInterval(() => {
      if (pageVisible()) refresh();
    }, POLL_MS);
  }

  function stopPolling() {
    clearInterval(poller);
    poller = null;
  }

  sb.on("callevent", ({ type, call }) => {
    if (type === "call.missed" && call.receiverId === sb.user?.id) notify(call);
    soon();
  });
  sb.on("ready", () => refresh());
  sb.on("auth", ({ user }) => {
    if (user) {
      startPolling();
      refresh();
    } else {
      stopPolling();
      count = 0;
      render();
    }
  });
  globalThis.addEventListener("focus", () => refresh());
  document.addEventListener("visibilitychange", () => {
    if (pageVisible()) refresh();
  });

  render();
  return {
    refresh,
    markSeen,
    get count() {
      return count;
    },
  };
}
