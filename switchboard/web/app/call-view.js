// The call screen (outgoing, connecting, in call, ended) and the incoming-call dialog.

import { Ringtone } from "/sdk/switchboard.js";
import { bindDevicePickers } from "./devices.js";
import { $, displayName, formatDuration, paintAvatar, toast } from "./dom.js";
import { endMessage, startErrorMessage } from "./messages.js";

const ENDED_AUTO_CLOSE_MS = 8000;
const SCREEN_PHASES = new Set(["starting", "outgoing", "accepting", "connecting", "active"]);

function playSafely(media) {
  const played = media.play?.();
  if (played && typeof played.catch === "function") {
    played.catch((err) => {
      // Autoplay with sound is blocked until the person interacts (e.g. after a reload).
      if (err?.name !== "NotAllowedError") return;
      const button = $("resume-media");
      button.hidden = false;
      button.onclick = () => {
        button.hidden = true;
        for (const el of [$("remote-video"), $("remote-audio"), $("local-video")]) {
          if (el.srcObject) el.play().catch(() => {});
        }
      };
    });
  }
}

export function mountCallView(sb) {
  const screen = $("call-screen");
  const title = $("call-title");
  const subtitle = $("call-subtitle");
  const avatar = $("call-avatar");
  const placeholder = $("remote-placeholder");
  const quality = $("call-quality");
  const timerEl = $("call-timer");
  const remoteVideo = $("remote-video");
  const remoteAudio = $("remote-audio");
  const localVideo = $("local-video");
  const micBtn = $("toggle-mic");
  const camBtn = $("toggle-camera");
  const hangBtn = $("hang-up");
  const closeBtn = $("call-close");
  const againBtn = $("call-again");
  const incoming = $("incoming");
  const soundBlocked = $("sound-blocked");
  const ringtone = new Ringtone();
  const baseTitle = document.title;

  const devicesBtn = $("toggle-devices");
  const devicesPanel = $("call-devices");
  const pickers = bindDevicePickers(sb, {
    camera: $("call-camera"),
    microphone: $("call-microphone"),
    onError: (err, kind) =>
      toast(kind === "videoinput" ? "That camera can't be used right now." : "That microphone can't be used right now.", { kind: "error" }),
  });
  const elsewhere = $("elsewhere-banner");

  let peerUser = null; // the other person of the call on screen
  let callType = "video";
  let ticker = null;
  let autoClose = null;
  let returnFocus = null;

  function setInert(on) {
    for (const id of ["main", "topbar"]) $(id).inert = on;
  }

  function setLabel(button, text) {
    button.querySelector(".round-label").textContent = text;
  }

  function showScreen(phase, { user, type } = {}) {
    clearTimeout(autoClose);
    if (user) peerUser = user;
    if (type) callType = type;
    const wasHidden = screen.hidden;
    screen.hidden = false;
    screen.dataset.phase = phase;
    screen.dataset.type = callType;
    setInert(true);
    title.textContent = displayName(peerUser);
    paintAvatar(avatar, peerUser);
    const ringingOut = phase === "starting" || phase === "outgoing";
    setLabel(hangBtn, ringingOut ? "Cancel" : "Hang up");
    hangBtn.hidden = phase === "ended";
    devicesBtn.hidden = phase === "ended";
    if (phase === "ended") setDevicesOpen(false);
    closeBtn.hidden = againBtn.hidden = phase !== "ended";
    quality.hidden = phase === "ended" || ringingOut;
    if (phase !== "active") stopTimer();
    if (wasHidden) {
      returnFocus = document.activeElement instanceof HTMLElement ? document.activeElement : null;
      (phase === "ended" ? closeBtn : hangBtn).focus();
    }
  }

  function hideScreen() {
    clearTimeout(autoClose);
    stopTimer();
    if (screen.hidden) return;
    screen.hidden = true;
    screen.dataset.phase = "idle";
    remoteVideo.srcObject = null;
    remoteAudio.srcObject = null;
    localVideo.srcObject = null;
    remoteVideo.classList.remove("has-video", "camera-off");
    setDevicesOpen(false);
    $("resume-media").hidden = true;
    placeholder.hidden = false;
    $("remote-muted").hidden = true;
    $("remote-camera-off").hidden = true;
    setInert(Boolean(!incoming.hidden));
    const target = returnFocus && document.contains(returnFocus) && !returnFocus.disabled ? returnFocus : $("people-search");
    target?.focus();
  }

  function showEnded(message) {
    showScreen("ended");
    subtitle.textContent = message.title;
    quality.hidden = true;
    if (message.detail) {
      const detail = document.createElement("span");
      detail.className = "call-detail";
      detail.textContent = message.detail;
      subtitle.append(document.createElement("br"), detail);
    }
    closeBtn.focus();
    autoClose = setTimeout(hideScreen, ENDED_AUTO_CLOSE_MS);
  }

  function startTimer() {
    if (ticker) return;
    const answeredAt = Date.parse(sb.call?.answeredAt ?? "") || Date.now();
    const tick = () => {
      timerEl.textContent = formatDuration((Date.now() - Math.min(answeredAt, Date.now())) / 1000);
    };
    tick();
    timerEl.hidden = false;
    ticker = setInterval(tick, 1000);
  }

  function stopTimer() {
    clearInterval(ticker);
    ticker = null;
    timerEl.hidden = true;
  }

  // ------------------------------------------------------------ incoming dialog

  async function ring(call) {
    const caller = call.caller;
    paintAvatar($("incoming-avatar"), caller);
    $("incoming-title").textContent = displayName(caller);
    $("incoming-type").textContent = call.callType === "video" ? "Incoming video call" : "Incoming audio call";
    incoming.hidden = false;
    setInert(true);
    document.title = `Incoming call from ${displayName(caller)} · Switchboard`;
    $("accept").focus();
    soundBlocked.hidden = true;
    const audible = await ringtone.start();
    if (!incoming.hidden && !audible) soundBlocked.hidden = false;
  }

  function stopRinging() {
    ringtone.stop();
    document.title = baseTitle;
    if (incoming.hidden) return;
    incoming.hidden = true;
    soundBlocked.hidden = true;
    setInert(!screen.hidden);
  }

  incoming.addEventListener("keydown", (event) => {
    if (event.key !== "Tab") return;
    const focusables = [...incoming.querySelectorAll("button")].filter((b) => b.offsetParent !== null);
    const first = focusables[0];
    const last = focusables[focusables.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  });

  $("enable-sound").addEventListener("click", async () => {
    if (await ringtone.unlock()) soundBlocked.hidden = true;
  });

  $("accept").addEventListener("click", async () => {
    const call = sb.call;
    try {
      await sb.accept();
    } catch (err) {
      if (err.code === "media_denied" || err.code === "media_unavailable") {
        const message = startErrorMessage(err, call?.caller);
        toast(message.title, { kind: "error" });
      } else if (err.status !== 409) {
        toast(err.detail || "Couldn't answer the call.", { kind: "error" });
      }
    }
  });

  $("decline").addEventListener("click", () => {
    sb.decline().catch((err) => toast(err.detail || "Couldn't decline the call.", { kind: "error" }));
  });

  // ------------------------------------------------------------ controls

  hangBtn.addEventListener("click", () => {
    sb.hangUp().catch((err) => toast(err.detail || "Couldn't end the call.", { kind: "error" }));
  });
  closeBtn.addEventListener("click", hideScreen);
  againBtn.addEventListener("click", () => {
    const user = peerUser;
    const type = callType;
    hideScreen();
    if (user) startCall(user, type);
  });
  function setDevicesOpen(open) {
    devicesPanel.hidden = !open;
    devicesBtn.setAttribute("aria-expanded", String(open));
    devicesBtn.dataset.open = String(open);
    if (open) {
      $("call-camera-field").hidden = callType !== "video";
      pickers.refresh();
    }
  }
  devicesBtn.addEventListener("click", () => setDevicesOpen(devicesPanel.hidden));
  devicesPanel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.stopPropagation();
      setDevicesOpen(false);
      devicesBtn.focus();
    }
  });

  micBtn.addEventListener("click", () => sb.setMicrophoneEnabled(!sb.localMedia.audio));
  camBtn.addEventListener("click", () => sb.setCameraEnabled(!sb.localMedia.video));
  screen.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && screen.dataset.phase === "ended") hideScreen();
  });

  // ------------------------------------------------------------ SDK events

  // A call of mine that another of my devices handles (placed there, or answered there).
  function showElsewhere(call, phase) {
    if (phase !== "elsewhere" || !call) {
      elsewhere.hidden = true;
      return;
    }
    const name = displayName(sb.peerOf(call));
    const kind = call.callType === "video" ? "video" : "audio";
    elsewhere.dataset.status = call.status;
    $("elsewhere-text").textContent =
      call.status === "initiated"
        ? `Calling ${name} (${kind}) from another of your devices…`
        : `In a ${kind} call with ${name} on another of your devices`;
    elsewhere.hidden = false;
  }

  sb.on("call", ({ call, phase, previous }) => {
    showElsewhere(call, phase);
    if (phase !== "incoming") stopRinging();
    switch (phase) {
      case "incoming":
        callType = call.callType;
        ring(call);
        break;
      case "starting":
        showScreen("starting");
        subtitle.textContent = `Starting ${callType} call…`;
        break;
      case "outgoing":
        showScreen("outgoing", { user: sb.peerOf(call), type: call.callType });
        subtitle.textContent = call.callType === "video" ? "Calling… (video)" : "Calling… (audio)";
        break;
      case "accepting":
      case "connecting":
        showScreen("connecting", { user: sb.peerOf(call), type: call.callType });
        subtitle.textContent = "Connecting…";
        quality.dataset.state = "connecting";
        quality.textContent = "Connecting…";
        break;
      case "active":
        showScreen("active", { user: sb.peerOf(call), type: call.callType });
        subtitle.textContent = call.callType === "video" ? "Video call" : "Audio call";
        startTimer();
        break;
      case "elsewhere":
        if (previous === "incoming") toast("Answered on another of your devices.");
        if (!screen.hidden && screen.dataset.phase !== "ended") hideScreen();
        break;
      default:
        break;
    }
  });

  sb.on("ended", (event) => {
    stopRinging();
    if (event.elsewhere) return;
    const message = endMessage(event, sb.user);
    if (event.previous === "incoming") {
      hideScreen();
      toast(message.title);
      return;
    }
    if (message.quiet) {
      hideScreen();
      toast(message.title);
      return;
    }
    showEnded(message);
  });

  sb.on("localstream", ({ stream }) => {
    if (stream && !devicesPanel.hidden) pickers.refresh();
    localVideo.srcObject = stream;
    if (stream) playSafely(localVideo);
  });

  sb.on("remotestream", ({ stream }) => {
    const target = callType === "video" ? remoteVideo : remoteAudio;
    const other = target === remoteVideo ? remoteAudio : remoteVideo;
    other.srcObject = null;
    if (target.srcObject !== stream) target.srcObject = stream;
    if (stream) playSafely(target);
  });

  for (const type of ["loadeddata", "resize", "playing"]) {
    remoteVideo.addEventListener(type, () => {
      if (remoteVideo.videoWidth > 0) {
        remoteVideo.classList.add("has-video");
        placeholder.hidden = !remoteVideo.classList.contains("camera-off");
      }
    });
  }

  sb.on("media", ({ local, remote }) => {
    micBtn.dataset.off = String(!local.audio);
    setLabel(micBtn, local.audio ? "Mute" : "Unmute");
    camBtn.dataset.off = String(!local.video);
    setLabel(camBtn, local.video ? "Turn camera off" : "Turn camera on");
    localVideo.classList.toggle("camera-off", !local.video);
    const name = displayName(peerUser);
    $("remote-muted").hidden = remote.audio;
    $("remote-muted-text").textContent = `${name} is muted`;
    const camOff = callType === "video" && !remote.video;
    $("remote-camera-off").hidden = !camOff;
    $("remote-camera-off").textContent = `${name} turned their camera off`;
    remoteVideo.classList.toggle("camera-off", camOff);
    placeholder.hidden = !camOff && remoteVideo.classList.contains("has-video");
  });

  sb.on("peerstate", ({ state }) => {
    const labels = {
      new: "Connecting…",
      connecting: "Connecting…",
      connected: "Connected",
      disconnected: "Reconnecting…",
      failed: "Connection failed",
      closed: "Disconnected",
    };
    quality.dataset.state = state;
    quality.textContent = labels[state] ?? state;
  });

  // ------------------------------------------------------------ placing calls

  async function startCall(user, type) {
    peerUser = user;
    callType = type;
    try {
      await sb.startCall(user.id, { type });
    } catch (err) {
      const message = startErrorMessage(err, user);
      if (!message) hideScreen();
      else showEnded(message);
    }
  }

  return { startCall, hide: hideScreen, stopRinging };
}
