// Human messages for call outcomes and API errors.

import { displayName, formatDuration } from "./dom.js";

/** The message for a failed call attempt (an error from startCall). */
export function startErrorMessage(err, callee) {
  const name = displayName(callee);
  switch (err?.code) {
    case "user_busy":
      return { title: `${name} is busy`, detail: "They're on another call. Try again in a little while." };
    case "caller_busy":
      return { title: "You're already in a call", detail: "Finish your current call (maybe on another device) first." };
    case "user_not_found":
      return { title: `${name} is unavailable`, detail: "This account no longer exists." };
    case "cannot_call_self":
      return { title: "That's you", detail: "You can't call yourself." };
    case "media_denied":
      return { title: "Camera and microphone blocked", detail: "Allow access in your browser's site settings, then try again." };
    case "media_unavailable":
      return { title: "No microphone found", detail: "Connect a microphone and try again." };
    case "network_error":
      return { title: "Can't reach Switchboard", detail: "Check your connection and try again." };
    case "cancelled":
      return null;
    default:
      return { title: "Call failed", detail: err?.detail || err?.message || "Something went wrong." };
  }
}

/**
 * The message for a call that ended (an "ended" event). Returns {title, detail, quiet} where
 * quiet means a toast is enough.
 */
export function endMessage({ call, status, reason }, me) {
  const iAmCaller = call.callerId === me?.id || call.caller?.id === me?.id;
  const other = iAmCaller ? call.receiver : call.caller;
  const name = displayName(other);
  const byMe = call.endedBy && call.endedBy === me?.id;
  if (status === "rejected") {
    return iAmCaller
      ? { title: `${name} declined the call`, detail: "They can't talk right now." }
      : { title: "Call declined", detail: "", quiet: true };
  }
  if (status === "missed") {
    if (!iAmCaller) {
      return { title: `Missed call from ${name}`, detail: "", quiet: true };
    }
    if (reason === "timeout") return { title: "No answer", detail: `${name} didn't pick up.` };
    if (reason === "cancelled") return { title: "Call cancelled", detail: "", quiet: true };
    if (reason === "connection_lost") return { title: `${name} is unavailable`, detail: "The call could not be completed." };
    return { title: "Call not answered", detail: "" };
  }
  const duration = formatDuration(call.duration ?? 0);
  switch (reason) {
    case "ice_failed":
      return { title: "Call failed: no media connection", detail: "The network between you and " + name + " blocked audio and video (ICE failed)." };
    case "media_failed":
      return { title: "Call ended: camera or microphone failed", detail: `Duration ${duration}` };
    case "connection_lost":
      return { title: byMe ? "You lost your connection" : `${name} lost their connection`, detail: `Call ended after ${duration}` };
    case "max_duration":
      return { title: "Call reached its maximum length", detail: `Duration ${duration}` };
    default:
      return { title: byMe ? "You ended the call" : `${name} ended the call`, detail: `Call ended · ${duration}` };
  }
}
