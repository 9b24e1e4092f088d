// Statistics: calls, answered share, talk time and calls by type over the last 7 or 30 days.

import { $ } from "./dom.js";
import { formatDuration, formatNumber, formatPercent } from "./format.js";

const DAY_MS = 86_400_000;

export function mountStatsView(sb) {
  const grid = $("stats-grid");
  const state = $("stats-state");
  const stateText = $("stats-state-text");
  const retry = $("stats-retry");
  let days = 7;
  let seq = 0;
  let visible = false;
  let hasData = false;

  function setState(mode, message = "") {
    state.dataset.state = mode;
    stateText.textContent = message;
    retry.hidden = mode !== "error";
  }

  function render(stats) {
    const total = stats.total;
    $("stat-total").textContent = formatNumber(total);
    $("stat-total-sub").textContent = `${formatNumber(stats.outgoing)} outgoing · ${formatNumber(stats.incoming)} incoming`;
    $("stat-answered").textContent = total ? formatPercent(stats.answered / total) : "–";
    $("stat-answered-sub").textContent = `${formatNumber(stats.answered)} of ${formatNumber(total)} calls`;
    $("stat-talk").textContent = formatDuration(stats.totalDuration);
    $("stat-talk-sub").textContent = stats.answered ? `Average ${formatDuration(stats.averageDuration)}` : "No answered calls";
    $("stat-missed").textContent = formatNumber(stats.missed);
    $("stat-missed-sub").textContent = `${formatNumber(stats.rejected)} declined`;
    for (const type of ["video", "audio"]) {
      const n = stats.byType?.[type] ?? 0;
      $(`stat-${type}`).textContent = formatNumber(n);
      const meter = $(`stat-${type}-meter`);
      meter.value = total ? n / total : 0;
      meter.setAttribute("aria-valuetext", total ? formatPercent(n / total) : formatPercent(0));
    }
  }

  async function load() {
    const mine = ++seq;
    if (!hasData) grid.hidden = true;
    setState("loading", "Loading statistics…");
    grid.setAttribute("aria-busy", "true");
    try {
      const stats = await sb.callStats({ from: new Date(Date.now() - days * DAY_MS) });
      if (mine !== seq) return;
      render(stats);
      hasData = true;
      grid.hidden = false;
      setState(stats.total ? "idle" : "empty", stats.total ? "" : `No calls in the last ${days} days.`);
    } catch (err) {
      if (mine !== seq) return;
      grid.hidden = true;
      hasData = false;
      setState("error", err.code === "network_error" ? "Couldn't load statistics: the server can't be reached." : "Couldn't load statistics.");
    } finally {
      if (mine === seq) grid.setAttribute("aria-busy", "false");
    }
  }

  for (const radio of document.querySelectorAll('input[name="stats-range"]')) {
    radio.addEventListener("change", () => {
      if (!radio.checked) return;
      days = Number(radio.value);
      $("stats-caption").textContent = `Your calls in the last ${days} days.`;
      load();
    });
  }
  retry.addEventListener("click", load);

  // A finished call changes the numbers: re-read them while the panel is on screen.
  sb.on("callevent", ({ call }) => {
    if (visible && ["ended", "missed", "rejected"].includes(call.status)) load();
  });

  return {
    show() {
      visible = true;
      $("stats-caption").textContent = `Your calls in the last ${days} days.`;
      load();
    },
    hide() {
      visible = false;
    },
  };
}
