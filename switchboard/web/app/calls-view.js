// The call log: filters, infinite scroll through history pages, call back, delete, live updates.

import { $, displayName, el, icon, paintAvatar, toast } from "./dom.js";
import { formatDateTime, formatDay, formatDuration, formatTime } from "./format.js";

const PAGE_SIZE = 20;
/** Filters of the log as GET /calls/history queries. "Missed" is the callee's view (API.md). */
const FILTERS = {
  all: {},
  missed: { status: "missed", direction: "incoming" },
  incoming: { direction: "incoming" },
  outgoing: { direction: "outgoing" },
};
const EMPTY_TEXT = {
  all: "No calls yet. Calls you make and receive show up here.",
  missed: "No missed calls. Nice!",
  incoming: "No incoming calls yet.",
  outgoing: "No outgoing calls yet.",
};

function matches(call, filter) {
  const query = FILTERS[filter];
  if (query.status && call.status !== query.status) return false;
  if (query.direction && call.direction !== query.direction) return false;
  return true;
}

/** What happened, from my side: {kind: incoming|outgoing|missed, label, outcome}. */
export function describeCall(call) {
  const incoming = call.direction === "incoming";
  const missed = incoming && call.status === "missed";
  const kind = missed ? "missed" : incoming ? "incoming" : "outgoing";
  const label = missed ? "Missed call" : incoming ? "Incoming call" : "Outgoing call";
  let outcome;
  switch (call.status) {
    case "initiated":
      outcome = incoming ? "Ringing…" : "Calling…";
      break;
    case "answered":
      outcome = "In progress";
      break;
    case "rejected":
      outcome = "Declined";
      break;
    case "missed":
      if (incoming) outcome = "Missed";
      else if (call.endReason === "cancelled") outcome = "Cancelled";
      else if (call.endReason === "timeout") outcome = "No answer";
      else outcome = "Not connected";
      break;
    default:
      outcome =
        !call.duration && (call.endReason === "ice_failed" || call.endReason === "media_failed")
          ? "Couldn't connect"
          : formatDuration(call.duration ?? 0);
  }
  return { kind, label, outcome };
}

export function mountCallsView(sb, { onCall }) {
  const list = $("calls-list");
  const state = $("calls-state");
  const stateText = $("calls-state-text");
  const retry = $("calls-retry");
  const more = $("calls-more");
  const loadMore = $("calls-load-more");
  const dialog = $("delete-dialog");
  const heading = $("calls-heading");

  let filter = "all";
  let calls = []; // newest first
  let page = 0;
  let hasNext = false;
  let loading = false;
  let loaded = false;
  let error = null;
  let seq = 0;
  let visible = false;
  let asked = null; // the call the delete dialog asks about
  // Deleted here: a history page fetched before the delete answered must not bring them back.
  const deleted = new Set();

  // ------------------------------------------------------------ rendering

  function row(call) {
    const other = call.direction === "incoming" ? call.caller : call.receiver;
    const name = displayName(other);
    const { kind, label, outcome } = describeCall(call);
    const when = formatDateTime(call.startedAt);
    const type = call.callType === "video" ? "Video" : "Audio";
    const avatar = el("span", { className: "avatar", "aria-hidden": "true" });
    paintAvatar(avatar, other);
    const busy = sb.phase !== "idle" && sb.phase !== "elsewhere";
    const terminal = ["ended", "missed", "rejected"].includes(call.status);
    return el(
      "li",
      { className: `call-row ${kind}`, dataset: { callId: call.id, status: call.status, direction: call.direction } },
      el("span", { className: `call-kind ${kind}`, title: label }, icon(kind), el("span", { className: "sr-only" }, label)),
      avatar,
      el(
        "div",
        { className: "call-info" },
        el("span", { className: "call-name" }, name),
        el(
          "span",
          { className: "call-meta" },
          icon(call.callType === "video" ? "video" : "phone"),
          el("span", { className: "call-type" }, type),
          " · ",
          el("span", { className: "call-outcome" }, outcome),
        ),
      ),
      el("time", { className: "call-time", dateTime: call.startedAt, title: when }, formatTime(call.startedAt)),
      el(
        "div",
        { className: "call-actions" },
        el(
          "button",
          {
            type: "button",
            className: "icon-btn call-back",
            "aria-label": `Call back ${name} (${call.callType} call)`,
            title: `Call back (${call.callType})`,
            disabled: busy,
            onclick: () => onCall(other, call.callType),
          },
          icon(call.callType === "video" ? "video" : "phone"),
        ),
        el(
          "button",
          {
            type: "button",
            className: "icon-btn delete",
            "aria-label": `Delete call with ${name}, ${when}`,
            title: terminal ? "Delete from history" : "A call in progress can't be deleted",
            disabled: !terminal,
            onclick: () => confirmDelete(call),
          },
          icon("trash"),
        ),
      ),
    );
  }

  function render() {
    // Keep keyboard focus on the same control across re-renders.
    const active = document.activeElement;
    const focusRow = active?.closest?.(".call-row");
    const focusKey = focusRow ? [focusRow.dataset.callId, active.getAttribute("aria-label")] : null;

    const groups = new Map();
    for (const call of calls) {
      const day = formatDay(call.startedAt);
      if (!groups.has(day)) groups.set(day, []);
      groups.get(day).push(call);
    }
    list.replaceChildren(
      ...[...groups].map(([day, items], index) =>
        el(
          "section",
          { className: "call-day", "aria-labelledby": `calls-day-${index}` },
          el("h2", { className: "list-title", id: `calls-day-${index}` }, day),
          el("ul", { className: "call-list" }, items.map(row)),
        ),
      ),
    );
    if (focusKey) {
      const again = list.querySelector(`.call-row[data-call-id="${CSS.escape(focusKey[0])}"]`);
      again?.querySelector(`[aria-label="${CSS.escape(focusKey[1] ?? "")}"]`)?.focus();
    }

    list.setAttribute("aria-busy", String(loading));
    let mode = "idle";
    if (error) mode = "error";
    else if (loading && !calls.length) mode = "loading";
    else if (loaded && !calls.length) mode = "empty";
    else if (loading) mode = "more";
    state.dataset.state = mode;
    stateText.textContent =
      mode === "error"
        ? error.code === "network_error"
          ? "Couldn't load your calls: the server can't be reached."
          : "Couldn't load your calls."
        : mode === "loading"
          ? "Loading calls…"
          : mode === "more"
            ? "Loading older calls…"
            : mode === "empty"
              ? EMPTY_TEXT[filter]
              : "";
    retry.hidden = mode !== "error";
    loadMore.hidden = !hasNext || loading || Boolean(error);
  }

  // ------------------------------------------------------------ loading

  function merge(incoming) {
    const byId = new Map(calls.map((c) => [c.id, c]));
    for (const call of incoming) {
      if (deleted.has(call.id)) continue;
      const held = byId.get(call.id);
      if (!held || held.version < call.version) byId.set(call.id, call);
    }
    calls = [...byId.values()].sort((a, b) => (a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : 0));
  }

  async function load({ reset = false } = {}) {
    if (reset) {
      seq += 1;
      page = 0;
      hasNext = false;
      error = null;
    } else if (loading || !hasNext) {
      return;
    }
    const mine = seq;
    loading = true;
    render();
    try {
      const res = await sb.callHistory({ ...FILTERS[filter], page: page + 1, limit: PAGE_SIZE });
      if (mine !== seq) return;
      if (reset) calls = [];
      merge(res.calls);
      page = res.pagination.page;
      hasNext = res.pagination.hasNext;
      loaded = true;
      error = null;
    } catch (err) {
      if (mine !== seq) return;
      if (reset) calls = [];
      error = err;
    } finally {
      if (mine === seq) {
        loading = false;
        render();
        // The list may still not fill the screen: keep loading while the end is in view.
        if (!error && hasNext && nearEnd()) queueMicrotask(() => load());
      }
    }
  }

  function nearEnd() {
    if (!visible) return false;
    const rect = more.getBoundingClientRect();
    return rect.top < window.innerHeight + 300;
  }

  const observer =
    typeof IntersectionObserver === "function"
      ? new IntersectionObserver(
          (entries) => {
            if (visible && entries.some((e) => e.isIntersecting)) load();
          },
          { rootMargin: "300px 0px" },
        )
      : null;
  observer?.observe(more);
  loadMore.addEventListener("click", () => load());
  retry.addEventListener("click", () => load({ reset: !loaded || !calls.length }));

  for (const radio of document.querySelectorAll('input[name="calls-filter"]')) {
    radio.addEventListener("change", () => {
      if (!radio.checked) return;
      filter = radio.value;
      calls = [];
      loaded = false;
      load({ reset: true });
    });
  }

  // ------------------------------------------------------------ delete

  function confirmDelete(call) {
    const other = call.direction === "incoming" ? call.caller : call.receiver;
    const { label } = describeCall(call);
    asked = call;
    $("delete-detail").textContent = `${label} · ${displayName(other)} · ${formatDateTime(call.startedAt)}`;
    dialog.returnValue = "";
    dialog.showModal();
    $("delete-cancel").focus();
  }

  // The choice is read on submit, which runs with the click. The dialog's "close" event is
  // queued and may only arrive after the dialog was opened again for the next question.
  dialog.querySelector("form").addEventListener("submit", (event) => {
    if (asked && event.submitter?.value === "delete") remove(asked);
  });

  dialog.addEventListener("close", () => {
    if (dialog.open || dialog.returnValue === "delete" || !asked) return;
    // Kept: back to its delete button, even if the row was drawn again meanwhile.
    deleteButton(asked.id)?.focus();
  });

  function deleteButton(callId) {
    return list.querySelector(`.call-row[data-call-id="${CSS.escape(callId)}"] .delete`);
  }

  async function remove(call) {
    const rowEl = list.querySelector(`.call-row[data-call-id="${CSS.escape(call.id)}"]`);
    const rows = [...list.querySelectorAll(".call-row")];
    const neighbour = rows[rows.indexOf(rowEl) + 1] ?? rows[rows.indexOf(rowEl) - 1] ?? null;
    const neighbourId = neighbour?.dataset.callId;
    rowEl?.classList.add("deleting");
    try {
      await sb.deleteCall(call.id);
      toast("Call deleted.");
    } catch (err) {
      rowEl?.classList.remove("deleting");
      if (err.code === "call_active") {
        toast("A call in progress can't be deleted.", { kind: "error" });
        return;
      }
      if (err.code !== "call_not_found") {
        toast("Couldn't delete the call. Try again.", { kind: "error" });
        return;
      }
      // Already deleted (on another of my devices): it goes from the list too.
    }
    deleted.add(call.id);
    calls = calls.filter((c) => c.id !== call.id);
    render();
    ((neighbourId && deleteButton(neighbourId)) || heading).focus();
  }

  // ------------------------------------------------------------ live updates

  sb.on("callevent", ({ call }) => {
    const held = calls.find((c) => c.id === call.id);
    if (held && held.version >= call.version) return;
    if (matches(call, filter)) merge([call]);
    else if (held) calls = calls.filter((c) => c.id !== call.id);
    else return;
    render();
  });
  // Call-back buttons follow whether a call is going on here.
  sb.on("call", () => {
    if (calls.length) render();
  });

  return {
    show() {
      visible = true;
      load({ reset: true });
    },
    hide() {
      visible = false;
    },
    /** After a reconnect: events may have been missed while the socket was down. */
    refresh() {
      if (visible) load({ reset: true });
      else loaded = false;
    },
    get filter() {
      return filter;
    },
  };
}
