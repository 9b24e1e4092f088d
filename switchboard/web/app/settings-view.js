// Settings of this device: camera and microphone for the next calls, missed-call notifications.

import { bindDevicePickers } from "./devices.js";
import { $, toast } from "./dom.js";

export function notificationState() {
  if (!("Notification" in globalThis)) return "unsupported";
  return Notification.permission; // "default" | "granted" | "denied"
}

/** Asks for notification permission (needs a click). Resolves to the new state. */
export async function askForNotifications() {
  if (notificationState() !== "default") return notificationState();
  try {
    await Notification.requestPermission();
  } catch {
    /* old Safari: callback form only; the state below tells */
  }
  return notificationState();
}

const NOTIFY_TEXT = {
  unsupported: "This browser can't show notifications.",
  default: "Get a notification when you miss a call while Switchboard is in the background.",
  granted: "On: you get a notification when you miss a call while Switchboard is in the background.",
  denied: "Blocked in your browser's site settings. Allow notifications there to be told of missed calls.",
};

export function mountSettingsView(sb) {
  const hint = $("devices-hint");
  const allow = $("devices-allow");

  const pickers = bindDevicePickers(sb, {
    camera: $("settings-camera"),
    microphone: $("settings-microphone"),
    onError: () => toast("That device can't be used right now.", { kind: "error" }),
    onInfo: ({ cameras, microphones }) => {
      const unnamed = [...cameras, ...microphones].some((d) => !d.label);
      allow.hidden = !unnamed;
      hint.textContent = unnamed
        ? "Allow access to see the names of your camera and microphone."
        : !cameras.length && !microphones.length
          ? "No camera or microphone found on this device."
          : "";
    },
  });

  allow.addEventListener("click", async () => {
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
      for (const track of stream.getTracks()) track.stop();
    } catch {
      toast("Camera and microphone are blocked in your browser's site settings.", { kind: "error" });
    }
    pickers.refresh();
  });

  function renderNotify() {
    const state = notificationState();
    $("notify-status").textContent = NOTIFY_TEXT[state];
    $("notify-enable").hidden = state !== "default";
    $("calls-notify").hidden = state !== "default";
  }

  for (const id of ["notify-enable", "calls-notify"]) {
    $(id).addEventListener("click", async () => {
      const state = await askForNotifications();
      renderNotify();
      if (state === "granted") toast("Missed-call notifications are on.");
    });
  }
  renderNotify();

  return {
    show() {
      pickers.refresh();
      renderNotify();
    },
    hide() {},
    renderNotify,
  };
}
