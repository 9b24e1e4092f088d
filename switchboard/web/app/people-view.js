// People: recent contacts and search, with live presence dots and call buttons.

import { $, displayName, el, icon, paintAvatar, toast } from "./dom.js";

export function mountPeopleView(sb, { onCall }) {
  const list = $("people-list");
  const empty = $("people-empty");
  const title = $("people-list-title");
  const search = $("people-search");
  const online = new Map(); // userId -> bool (latest known)
  let users = [];
  let query = "";
  let timer = null;
  let seq = 0;

  function row(user) {
    const isOnline = online.get(user.id) ?? user.online;
    const name = displayName(user);
    const avatar = el("span", { className: "avatar", "aria-hidden": "true" });
    paintAvatar(avatar, user);
    avatar.append(el("span", { className: `presence-dot${isOnline ? " online" : ""}` }));
    const status = el("span", { className: isOnline ? "status-online" : "" }, isOnline ? "Online" : "Offline");
    const busy = sb.phase !== "idle" && sb.phase !== "elsewhere";
    return el(
      "li",
      { className: "person", dataset: { userId: user.id } },
      avatar,
      el(
        "div",
        { className: "person-info" },
        el("span", { className: "person-name" }, name),
        el("span", { className: "person-meta" }, `@${user.username} · `, status),
      ),
      el(
        "div",
        { className: "person-actions" },
        el(
          "button",
          {
            type: "button",
            className: "btn secondary small",
            "aria-label": `Audio call ${name}`,
            disabled: busy,
            onclick: () => onCall(user, "audio"),
          },
          icon("phone"),
          "Audio call",
        ),
        el(
          "button",
          {
            type: "button",
            className: "btn primary small",
            "aria-label": `Video call ${name}`,
            disabled: busy,
            onclick: () => onCall(user, "video"),
          },
          icon("video"),
          "Video call",
        ),
      ),
    );
  }

  function render() {
    const active = document.activeElement;
    const focusKey = active?.closest?.(".person") ? [active.closest(".person").dataset.userId, active.getAttribute("aria-label")] : null;
    list.replaceChildren(...users.map(row));
    if (focusKey) {
      const again = [...list.querySelectorAll(".person")].find((li) => li.dataset.userId === focusKey[0]);
      again?.querySelector(`[aria-label="${CSS.escape(focusKey[1] ?? "")}"]`)?.focus();
    }
    if (users.length) empty.textContent = "";
    else if (query) empty.textContent = `No one matches “${query}”.`;
    else empty.textContent = "No recent calls yet. Search for someone by name to call them.";
  }

  async function loadRecent() {
    const mine = ++seq;
    title.textContent = "Recent";
    try {
      const conversations = await sb.listConversations();
      const seen = new Map();
      for (const c of conversations) {
        for (const p of c.participants ?? []) if (p.id !== sb.user?.id && !seen.has(p.id)) seen.set(p.id, p);
      }
      let found = [...seen.values()];
      if (!found.length) {
        title.textContent = "Suggested";
        found = await sb.searchUsers("", { limit: 20 }).catch(() => []);
      }
      if (mine !== seq) return;
      users = found;
      render();
    } catch (err) {
      if (mine !== seq) return;
      users = [];
      render();
      if (err.code !== "unauthorized") toast("Couldn't load your contacts.", { kind: "error" });
    }
  }

  async function runSearch() {
    const mine = ++seq;
    title.textContent = "Search results";
    try {
      const found = await sb.searchUsers(query, { limit: 20 });
      if (mine !== seq) return;
      users = found;
      render();
    } catch (err) {
      if (mine !== seq) return;
      users = [];
      render();
      empty.textContent = "Search failed. Try again.";
    }
  }

  search.addEventListener("input", () => {
    clearTimeout(timer);
    query = search.value.trim();
    timer = setTimeout(() => (query ? runSearch() : loadRecent()), 200);
  });
  search.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      clearTimeout(timer);
      query = search.value.trim();
      (query ? runSearch() : loadRecent());
    }
  });

  sb.on("presence", ({ userId, online: isOnline }) => {
    online.set(userId, isOnline);
    for (const user of users) if (user.id === userId) user.online = isOnline;
    if (users.some((u) => u.id === userId)) render();
  });
  sb.on("call", () => render());
  sb.on("ended", () => {
    if (!query) loadRecent();
  });

  return {
    show() {
      search.value = "";
      query = "";
      loadRecent();
    },
    refresh() {
      return query ? runSearch() : loadRecent();
    },
  };
}
