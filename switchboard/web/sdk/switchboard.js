// Switchboard browser SDK: auth, the real-time gateway, call state and WebRTC media for 1:1
// audio/video calls. An ES module with no dependencies and no build step:
//
//   import { Switchboard } from "https://calls.example.com/sdk/switchboard.js";
//   const sb = new Switchboard({ baseUrl: "https://calls.example.com" });
//
// See docs/js-sdk.md for the API and a complete example.

import { Emitter } from "./emitter.js";
import { Gateway } from "./gateway.js";
import { HttpClient, SwitchboardError } from "./http.js";
import { PeerSession } from "./peer.js";

export { CodecError, decode, SIGNAL_KINDS } from "./codec.js";
export { Ringtone } from "./ringtone.js";
export { SwitchboardError };

export const TERMINAL_STATUSES = Object.freeze(["rejected", "missed", "ended"]);
const DEVICE_ID_RE = /^[A-Za-z0-9_-]{8,64}$/;
const MAX_EARLY_SIGNALS = 500;

export function isTerminal(call) {
  return Boolean(call) && TERMINAL_STATUSES.includes(call.status);
}

function randomDeviceId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return "web-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

class MemoryStorage {
  #map = new Map();
  getItem(key) {
    return this.#map.has(key) ? this.#map.get(key) : null;
  }
  setItem(key, value) {
    this.#map.set(key, String(value));
  }
  removeItem(key) {
    this.#map.delete(key);
  }
}

function defaultStorage() {
  try {
    const storage = globalThis.localStorage;
    storage.getItem("switchboard.probe");
    return storage;
  } catch {
    return new MemoryStorage();
  }
}

/**
 * The SDK's entry point. Phases of `sb.phase`:
 *   "idle"       no call on this device
 *   "starting"   getting the camera/microphone and placing a call
 *   "outgoing"   my call is ringing the other side ("Calling…")
 *   "incoming"   someone is calling me: ring, then accept() or decline()
 *   "accepting"  accept() is getting media and answering
 *   "connecting" answered on this device; media is being connected
 *   "active"     media connected (it stays active through short network blips)
 *   "elsewhere"  a call of mine that another of my devices handles
 */
export class Switchboard extends Emitter {
  /**
   * @param {object} [options]
   * @param {string} [options.baseUrl=""]  the Switchboard server; "" for the page's origin
   * @param {Storage} [options.storage=localStorage]  where the token and device id are kept
   * @param {string} [options.storagePrefix="switchboard"]
   * @param {RTCIceTransportPolicy} [options.iceTransportPolicy]  "relay" to force TURN
   * @param {number} [options.connectTimeoutMs=30000]  media not connected by then: ice_failed
   * @param {MediaStreamConstraints} [options.mediaConstraints]  per call type overrides
   */
  constructor(options = {}) {
    super();
    this.baseUrl = (options.baseUrl ?? "").replace(/\/+$/, "");
    this.storage = options.storage ?? defaultStorage();
    this.prefix = options.storagePrefix ?? "switchboard";
    this.iceTransportPolicy = options.iceTransportPolicy ?? null;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 30000;
    this.mediaConstraints = options.mediaConstraints ?? null;

    this.token = this.#load("token");
    this.user = this.#loadJson("user");
    this.connectionId = null;
    this.connectionState = "closed";
    this.call = null;
    this.phase = "idle";
    this.localStream = null;
    this.remoteStream = null;
    this.peerState = "new";
    this.localMedia = { audio: true, video: false };
    this.remoteMedia = { audio: true, video: true };

    this.versions = new Map();
    this.peer = null;
    this.earlySignals = [];
    this.deferred = null;
    this.connectTimer = null;
    this.iceCache = null;

    this.api = new HttpClient({
      baseUrl: this.baseUrl,
      getToken: () => this.token,
      onUnauthorized: () => this.#expire(),
    });
    this.gateway = new Gateway({ url: () => this.#wsUrl() });
    this.gateway.on("state", ({ state }) => this.#onGatewayState(state));
    this.gateway.on("frame", ({ event }) => this.#onEvent(event));
  }

  // ---------------------------------------------------------------- storage

  #key(name) {
    return `${this.prefix}.${name}`;
  }
  #load(name) {
    return this.storage.getItem(this.#key(name));
  }
  #loadJson(name) {
    try {
      return JSON.parse(this.#load(name) ?? "null");
    } catch {
      return null;
    }
  }
  #save(name, value) {
    if (value === null || value === undefined) this.storage.removeItem(this.#key(name));
    else this.storage.setItem(this.#key(name), typeof value === "string" ? value : JSON.stringify(value));
  }

  /** This browser's device id (kept across reloads), sent as `deviceId` on /ws. */
  get deviceId() {
    let id = this.#load("deviceId");
    if (!id || !DEVICE_ID_RE.test(id)) {
      id = randomDeviceId();
      this.#save("deviceId", id);
    }
    return id;
  }

  get isSignedIn() {
    return Boolean(this.token && this.user);
  }

  #wsUrl() {
    const url = new URL(this.baseUrl + "/ws", globalThis.location?.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("token", this.token ?? "");
    url.searchParams.set("deviceId", this.deviceId);
    return url.toString();
  }

  // ---------------------------------------------------------------- auth

  #setSession({ accessToken, user }) {
    this.token = accessToken;
    this.user = user;
    this.#save("token", accessToken);
    this.#save("user", user);
    this.emit("auth", { user });
    this.connect();
    return user;
  }

  /** Creates an account and signs in. Rejects with SwitchboardError (e.g. code "username_taken"). */
  async register({ username, password, displayName }) {
    const body = { username, password };
    if (displayName) body.displayName = displayName;
    return this.#setSession(await this.api.post("/auth/register", body, { auth: false }));
  }

  /** Signs in. Rejects with SwitchboardError code "invalid_credentials" on a wrong password. */
  async login({ username, password }) {
    return this.#setSession(await this.api.post("/auth/login", { username, password }, { auth: false }));
  }

  /**
   * Resumes the session kept in storage (after a reload). Resolves to the user, or null when
   * there is no valid session.
   */
  async restore() {
    if (!this.token) return null;
    try {
      const { user } = await this.api.get("/users/me");
      this.user = user;
      this.#save("user", user);
      this.emit("auth", { user });
      this.connect();
      return user;
    } catch (err) {
      if (err instanceof SwitchboardError && err.status === 401) return null;
      // Offline or the server is restarting: keep the session and let the socket retry.
      if (this.user) {
        this.emit("auth", { user: this.user });
        this.connect();
        return this.user;
      }
      throw err;
    }
  }

  /** Hangs up any call of this device, closes the socket and forgets the token. */
  async signOut() {
    if (this.call && this.phase !== "elsewhere" && !isTerminal(this.call)) {
      await this.hangUp().catch(() => {});
    }
    this.#clearSession(null);
  }

  #clearSession(reason) {
    this.gateway.close();
    this.#teardownMedia();
    this.call = null;
    this.phase = "idle";
    this.token = null;
    this.user = null;
    this.connectionId = null;
    this.#save("token", null);
    this.#save("user", null);
    this.#save("boundCall", null);
    this.emit("auth", { user: null, reason });
  }

  #expire() {
    if (this.token) this.#clearSession("session_expired");
  }

  // ---------------------------------------------------------------- gateway

  /** Opens the real-time connection (done for you after login/register/restore). */
  connect() {
    if (this.token) this.gateway.open();
  }

  /** Reconnects the socket now; a call in progress keeps its media. */
  reconnect() {
    this.gateway.reconnect();
  }

  /** After "connection" state "replaced" (this device opened elsewhere): take the connection back. */
  takeOver() {
    this.gateway.takeOver();
  }

  #onGatewayState(state) {
    this.connectionState = state;
    if (state === "unauthorized") this.#expire();
    this.emit("connection", { state });
  }

  #waitReady(timeoutMs = 5000) {
    if (this.gateway.ready) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        off();
        resolve(false);
      }, timeoutMs);
      const off = this.gateway.on("state", ({ state }) => {
        if (state === "open") {
          clearTimeout(timer);
          off();
          resolve(true);
        }
      });
    });
  }

  #onEvent(event) {
    if (this.deferred && event.type.startsWith("call.")) {
      this.deferred.push(event);
      return;
    }
    switch (event.type) {
      case "hello":
        this.connectionId = event.connectionId;
        this.user = event.user;
        this.#save("user", event.user);
        this.emit("ready", { user: event.user, connectionId: event.connectionId });
        this.#recover(event.activeCall);
        break;
      case "sync":
        this.#recover(event.activeCall);
        break;
      case "call.initiated":
      case "call.incoming":
      case "call.rejected":
      case "call.missed":
      case "call.ended":
        this.#onCall(event.call);
        this.emit("callevent", { type: event.type, call: event.call });
        break;
      case "call.answered":
        this.#onCall(event.call, { answeredBy: event.connectionId });
        this.emit("callevent", { type: event.type, call: event.call, connectionId: event.connectionId });
        break;
      case "signal":
        this.#onSignal(event);
        break;
      case "presence":
        this.emit("presence", { userId: event.userId, online: event.online });
        break;
      case "error":
        this.emit("error", { error: new SwitchboardError({ code: event.code, detail: event.message }) });
        break;
      default:
        throw new Error(`unhandled event ${event.type}`);
    }
  }

  /** hello/sync: the server's truth about my active call after a (re)connect. */
  async #recover(activeCall) {
    if (activeCall) {
      this.#onCall(activeCall, { recovering: true });
      return;
    }
    const held = this.call;
    if (!held || isTerminal(held)) return;
    // The call I hold ended while I was away: fetch its final state.
    try {
      const { call } = await this.api.get(`/calls/${held.id}`);
      this.#onCall(call);
      if (this.call?.id === held.id && !isTerminal(call)) return;
    } catch {
      /* fall through */
    }
    if (this.call?.id === held.id && !isTerminal(this.call)) {
      this.#finish({ ...held, status: "ended", endReason: "connection_lost" });
    }
  }

  // ---------------------------------------------------------------- call state

  #isFresh(call) {
    const seen = this.versions.get(call.id) ?? 0;
    if (call.version <= seen) return false;
    this.versions.set(call.id, call.version);
    if (this.versions.size > 200) this.versions.delete(this.versions.keys().next().value);
    return true;
  }

  #isCaller(call) {
    return call.callerId === this.user?.id || call.caller?.id === this.user?.id;
  }

  /** The other participant of a call (a user object). */
  peerOf(call = this.call) {
    if (!call) return null;
    return this.#isCaller(call) ? call.receiver : call.caller;
  }

  get #boundCallId() {
    return this.#load("boundCall");
  }

  #bind(callId) {
    this.#save("boundCall", callId);
  }

  #setPhase(phase) {
    const previous = this.phase;
    this.phase = phase;
    this.emit("call", { call: this.call, phase, previous });
  }

  #onCall(call, { answeredBy, recovering = false } = {}) {
    if (!this.#isFresh(call)) {
      const held = this.call;
      if (
        recovering &&
        held?.id === call.id &&
        call.status === "answered" &&
        this.phase !== "elsewhere" &&
        this.#boundCallId === call.id
      ) {
        this.#ensureMedia(call, { rejoin: true });
      }
      return;
    }
    const held = this.call;
    if (!held || held.id !== call.id) {
      if (isTerminal(call)) return; // the end of a call this device never held
      if (held && !isTerminal(held) && this.phase !== "elsewhere") return;
      if (held && this.phase === "elsewhere") this.#teardownMedia();
    }
    this.call = call;
    if (isTerminal(call)) return this.#finish(call);

    const mine = this.#boundCallId === call.id;
    if (call.status === "initiated") {
      if (this.#isCaller(call)) {
        this.#setPhase(mine ? "outgoing" : "elsewhere");
      } else if (this.phase !== "accepting") {
        if (this.phase !== "incoming") {
          this.#setPhase("incoming");
          this.emit("incoming", { call });
        } else {
          this.#setPhase("incoming");
        }
      }
      return;
    }
    // answered
    const answeredHere =
      this.#isCaller(call) ? mine : answeredBy === undefined ? mine : answeredBy === this.connectionId || (answeredBy === null && mine);
    if (!answeredHere) {
      if (mine) this.#bind(null);
      this.#teardownMedia();
      return this.#setPhase("elsewhere");
    }
    if (this.phase !== "active" && this.phase !== "connecting") this.#setPhase("connecting");
    else this.#setPhase(this.phase);
    this.#ensureMedia(call, { rejoin: recovering && !this.peer });
  }

  #finish(call) {
    const wasHere = this.phase !== "elsewhere" && this.phase !== "idle";
    this.call = call;
    if (this.#boundCallId === call.id) this.#bind(null);
    this.#teardownMedia();
    this.call = null;
    const previous = this.phase;
    this.phase = "idle";
    this.emit("call", { call: null, phase: "idle", previous });
    this.emit("ended", {
      call,
      status: call.status,
      reason: call.endReason ?? null,
      elsewhere: !wasHere,
      previous,
    });
  }

  // ---------------------------------------------------------------- media

  async #getMedia(callType) {
    const video = callType === "video";
    const preset = this.mediaConstraints?.[callType];
    const constraints = preset ?? {
      audio: this.#audioConstraints(),
      video: video ? this.#videoConstraints() : false,
    };
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia(constraints);
    } catch (err) {
      if (!video) throw this.#mediaError(err);
      try {
        stream = await navigator.mediaDevices.getUserMedia({ audio: constraints.audio, video: false });
        this.emit("warning", { code: "camera_unavailable", message: "Camera unavailable: joining with audio only." });
      } catch (err2) {
        throw this.#mediaError(err2);
      }
    }
    this.localStream = stream;
    this.localMedia = {
      audio: stream.getAudioTracks().length > 0,
      video: stream.getVideoTracks().length > 0,
    };
    this.emit("localstream", { stream });
    this.emit("media", { local: this.localMedia, remote: this.remoteMedia });
    return stream;
  }

  #audioConstraints(deviceId = this.preferredDevices.audioinput) {
    const audio = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
    // `ideal`: a remembered device that is gone (unplugged) falls back to the default one.
    if (deviceId) audio.deviceId = { ideal: deviceId };
    return audio;
  }

  #videoConstraints(deviceId = this.preferredDevices.videoinput) {
    const video = { width: { ideal: 1280 }, height: { ideal: 720 } };
    if (deviceId) video.deviceId = { ideal: deviceId };
    else video.facingMode = "user";
    return video;
  }

  #mediaError(err) {
    const denied = err?.name === "NotAllowedError" || err?.name === "SecurityError";
    return new SwitchboardError({
      code: denied ? "media_denied" : "media_unavailable",
      title: denied ? "Permission denied" : "No microphone",
      detail: denied
        ? "Allow access to your microphone (and camera) to make calls."
        : "No microphone could be opened on this device.",
    });
  }

  async #rtcConfiguration() {
    const now = Date.now();
    if (!this.iceCache || this.iceCache.expires < now) {
      let iceServers = [];
      let policy = null;
      try {
        const query = this.iceTransportPolicy ? { iceTransportPolicy: this.iceTransportPolicy } : undefined;
        const res = await this.api.get("/calls/ice-servers", { query });
        iceServers = res.iceServers ?? [];
        policy = res.iceTransportPolicy ?? null;
        const ttl = Number(res.ttl) || 3600;
        this.iceCache = { iceServers, policy, expires: now + Math.min(ttl, 3600) * 500 };
      } catch (err) {
        console.warn("[switchboard] ICE servers unavailable, using host candidates only:", err.code);
        this.iceCache = { iceServers: [], policy: null, expires: now + 10000 };
      }
    }
    const config = { iceServers: this.iceCache.iceServers, bundlePolicy: "max-bundle" };
    const policy = this.iceTransportPolicy ?? this.iceCache.policy;
    if (policy) config.iceTransportPolicy = policy;
    return config;
  }

  async #ensureMedia(call, { rejoin = false } = {}) {
    if (this.peer || this.startingPeer || this.ensuring) return;
    this.ensuring = true;
    try {
      if (!this.localStream) await this.#getMedia(call.callType);
      if (this.call?.id !== call.id || isTerminal(this.call)) return;
      const caller = this.#isCaller(call);
      await this.#createPeer(call, { offerFirst: caller && !rejoin, polite: !caller });
      if (rejoin) this.#signal("renegotiate", { reason: "rejoin" });
    } catch (err) {
      this.emit("error", { error: err });
      if (err instanceof SwitchboardError && err.code.startsWith("media_")) this.hangUp("media_failed").catch(() => {});
    } finally {
      this.ensuring = false;
    }
  }

  async #createPeer(call, { offerFirst, polite }) {
    this.startingPeer = true;
    let configuration;
    try {
      configuration = await this.#rtcConfiguration();
    } finally {
      this.startingPeer = false;
    }
    if (this.call?.id !== call.id || isTerminal(this.call)) return;
    this.peer?.close();
    const peer = new PeerSession({
      configuration,
      polite,
      offerFirst,
      localStream: this.localStream,
      send: (kind, payload) => this.gateway.sendSignal(call.id, kind, payload),
    });
    this.peer = peer;
    this.remoteStream = peer.remoteStream;
    peer.on("track", ({ stream }) => this.emit("remotestream", { stream }));
    peer.on("state", ({ state }) => this.#onPeerState(peer, state));
    peer.on("failed", () => this.#onIceFailed(peer));
    clearTimeout(this.connectTimer);
    this.connectTimer = setTimeout(() => {
      if (this.peer === peer && peer.pc.connectionState !== "connected") this.#onIceFailed(peer);
    }, this.connectTimeoutMs);
    const early = this.earlySignals.filter((s) => s.callId === call.id);
    this.earlySignals = [];
    for (const s of early) this.#applySignal(s);
  }

  #onPeerState(peer, state) {
    if (peer !== this.peer) return;
    this.peerState = state;
    this.emit("peerstate", { state });
    if (state === "connected") {
      clearTimeout(this.connectTimer);
      this.#sendMediaState();
      if (this.phase === "connecting") this.#setPhase("active");
    }
  }

  #onIceFailed(peer) {
    if (peer !== this.peer || !this.call) return;
    this.emit("warning", { code: "ice_failed", message: "The media connection failed." });
    this.hangUp("ice_failed").catch(() => {});
  }

  #teardownMedia() {
    clearTimeout(this.connectTimer);
    this.peer?.close();
    this.peer = null;
    this.earlySignals = [];
    if (this.localStream) {
      for (const track of this.localStream.getTracks()) track.stop();
      this.localStream = null;
      this.emit("localstream", { stream: null });
    }
    if (this.remoteStream) {
      this.remoteStream = null;
      this.emit("remotestream", { stream: null });
    }
    this.peerState = "new";
    this.remoteMedia = { audio: true, video: true };
  }

  #signal(kind, payload) {
    if (!this.call) return Promise.resolve();
    return this.gateway.sendSignal(this.call.id, kind, payload).catch((err) => {
      console.warn(`[switchboard] ${kind} not delivered:`, err.code ?? err.message);
    });
  }

  #onSignal(signal) {
    if (!this.call || signal.callId !== this.call.id) return;
    if (!this.peer) {
      if (this.earlySignals.length < MAX_EARLY_SIGNALS) this.earlySignals.push(signal);
      return;
    }
    this.#applySignal(signal);
  }

  #applySignal(signal) {
    if (signal.kind === "media-state") {
      this.remoteMedia = {
        audio: signal.payload.audio !== false,
        video: signal.payload.video !== false,
      };
      this.emit("media", { local: this.localMedia, remote: this.remoteMedia });
      return;
    }
    if (signal.kind === "renegotiate" && signal.payload?.reason === "rejoin") {
      // The other side reloaded and lost its connection: start a fresh one and offer.
      const call = this.call;
      this.peer?.close();
      this.peer = null;
      this.#createPeer(call, { offerFirst: true, polite: !this.#isCaller(call) }).catch((err) =>
        this.emit("error", { error: err }),
      );
      return;
    }
    this.peer.handleSignal(signal.kind, signal.payload);
  }

  #sendMediaState() {
    if (!this.peer) return;
    this.#signal("media-state", { audio: this.localMedia.audio, video: this.localMedia.video });
  }

  // ---------------------------------------------------------------- public call API

  /**
   * Calls a user. `type` is "audio" or "video". Resolves to the call (phase "outgoing");
   * rejects with SwitchboardError: "user_busy", "user_not_found", "caller_busy",
   * "media_denied", ...
   */
  async startCall(userId, { type = "video", conversationId } = {}) {
    if (this.call && !isTerminal(this.call) && this.phase !== "elsewhere") {
      throw new SwitchboardError({ status: 409, code: "caller_busy", detail: "You are already in a call." });
    }
    if (this.phase === "starting") throw new SwitchboardError({ code: "caller_busy", detail: "A call is being placed." });
    this.phase = "starting";
    this.cancelStart = false;
    this.emit("call", { call: null, phase: "starting", previous: "idle", calling: userId, callType: type });
    this.deferred = [];
    try {
      await this.#getMedia(type);
      await this.#waitReady();
      if (this.cancelStart) throw new SwitchboardError({ code: "cancelled", detail: "Call cancelled." });
      const body = { receiverId: userId, callType: type };
      if (conversationId) body.conversationId = conversationId;
      if (this.gateway.ready && this.connectionId) body.connectionId = this.connectionId;
      const { call } = await this.api.post("/calls/initiate", body);
      this.#bind(call.id);
      if (this.phase === "elsewhere") this.call = null;
      this.#onCall(call);
      if (this.cancelStart) queueMicrotask(() => this.hangUp().catch(() => {}));
      return call;
    } catch (err) {
      this.#teardownMedia();
      if (this.phase === "starting") this.#setPhase("idle");
      throw err;
    } finally {
      const deferred = this.deferred ?? [];
      this.deferred = null;
      for (const event of deferred) this.#onEvent(event);
    }
  }

  /** Shorthands for startCall. */
  videoCall(userId, options) {
    return this.startCall(userId, { ...options, type: "video" });
  }
  audioCall(userId, options) {
    return this.startCall(userId, { ...options, type: "audio" });
  }

  /** Accepts the ringing incoming call on this device. */
  async accept() {
    const call = this.call;
    if (!call || this.phase !== "incoming") throw new SwitchboardError({ code: "no_incoming_call", detail: "No call to accept." });
    this.#setPhase("accepting");
    try {
      await this.#getMedia(call.callType);
      if (this.call?.id !== call.id || isTerminal(this.call)) throw new SwitchboardError({ code: "invalid_transition", detail: "The call is over." });
      await this.#waitReady();
      this.#bind(call.id);
      await this.#createPeer(call, { offerFirst: false, polite: true });
      const body = { accept: true };
      if (this.gateway.ready && this.connectionId) body.connectionId = this.connectionId;
      const res = await this.api.patch(`/calls/${call.id}/answer`, body);
      this.#onCall(res.call, { answeredBy: body.connectionId ?? null });
      return res.call;
    } catch (err) {
      if (this.#boundCallId === call.id) this.#bind(null);
      if (this.call?.id === call.id && this.phase === "accepting") {
        this.#teardownMedia();
        this.#setPhase("incoming");
        this.#refresh(call.id);
      }
      throw err;
    }
  }

  /** Declines the ringing incoming call (for every device of mine). */
  async decline() {
    const call = this.call;
    if (!call || this.phase !== "incoming") return null;
    try {
      const res = await this.api.patch(`/calls/${call.id}/answer`, { accept: false });
      this.#onCall(res.call);
      return res.call;
    } catch (err) {
      if (err instanceof SwitchboardError && err.status === 409) {
        await this.#refresh(call.id);
        return null;
      }
      throw err;
    }
  }

  /**
   * Ends the current call: cancels it while ringing out, declines it while ringing in, hangs up
   * an answered call. `reason` is "hangup" (default), "ice_failed" or "media_failed".
   */
  async hangUp(reason = "hangup") {
    if (this.phase === "starting") {
      this.cancelStart = true;
      return null;
    }
    const call = this.call;
    if (!call || isTerminal(call) || this.phase === "elsewhere") return null;
    if (this.phase === "incoming") return this.decline();
    try {
      const res = await this.api.patch(`/calls/${call.id}/end`, reason === "hangup" ? {} : { reason });
      this.#onCall(res.call);
      return res.call;
    } catch (err) {
      if (err instanceof SwitchboardError && err.status === 404) {
        this.#finish({ ...call, status: "ended", endReason: reason });
        return null;
      }
      throw err;
    } finally {
      // Whatever the server said, this device stops sending media for a failed call.
      if (reason !== "hangup" && this.call?.id === call.id) {
        this.#finish({ ...call, status: "ended", endReason: reason });
      }
    }
  }

  async #refresh(callId) {
    try {
      const { call } = await this.api.get(`/calls/${callId}`);
      this.#onCall(call);
    } catch {
      /* the next event or hello will tell */
    }
  }

  /** Turns the microphone on or off; the other side is told through `media-state`. */
  setMicrophoneEnabled(enabled) {
    for (const track of this.localStream?.getAudioTracks() ?? []) track.enabled = enabled;
    this.localMedia = { ...this.localMedia, audio: Boolean(enabled) };
    this.emit("media", { local: this.localMedia, remote: this.remoteMedia });
    this.#sendMediaState();
  }

  /** Turns the camera on or off (video calls); the other side is told through `media-state`. */
  setCameraEnabled(enabled) {
    const tracks = this.localStream?.getVideoTracks() ?? [];
    for (const track of tracks) track.enabled = enabled;
    this.localMedia = { ...this.localMedia, video: Boolean(enabled) && tracks.length > 0 };
    this.emit("media", { local: this.localMedia, remote: this.remoteMedia });
    this.#sendMediaState();
  }

  // ---------------------------------------------------------------- devices

  /** The remembered camera and microphone (`{videoinput, audioinput}` device ids or null). */
  get preferredDevices() {
    const saved = this.#loadJson("devices") ?? {};
    return { audioinput: saved.audioinput ?? null, videoinput: saved.videoinput ?? null };
  }

  /**
   * Cameras and microphones: `{cameras: [{deviceId, label}], microphones: [...]}`. Labels are
   * empty strings until the page has been allowed to use the camera/microphone.
   */
  async listDevices() {
    const devices = (await navigator.mediaDevices?.enumerateDevices?.()) ?? [];
    const pick = (kind) =>
      devices
        // Chromium's virtual "default"/"communications" entries repeat a real device.
        .filter((d) => d.kind === kind && d.deviceId && d.deviceId !== "default" && d.deviceId !== "communications")
        .map((d) => ({ deviceId: d.deviceId, label: d.label, groupId: d.groupId }));
    return { cameras: pick("videoinput"), microphones: pick("audioinput") };
  }

  /** The device ids this call is using now: `{audioinput, videoinput}` (null when none). */
  get currentDevices() {
    const id = (track) => track?.getSettings?.().deviceId ?? null;
    return {
      audioinput: id(this.localStream?.getAudioTracks()[0]),
      videoinput: id(this.localStream?.getVideoTracks()[0]),
    };
  }

  /** Chooses the microphone (remembered); during a call the new one replaces the old at once. */
  selectMicrophone(deviceId) {
    return this.#selectDevice("audioinput", deviceId);
  }

  /** Chooses the camera (remembered); during a video call the new one replaces the old at once. */
  selectCamera(deviceId) {
    return this.#selectDevice("videoinput", deviceId);
  }

  async #selectDevice(kind, deviceId) {
    this.#save("devices", { ...this.preferredDevices, [kind]: deviceId || null });
    const stream = this.localStream;
    const audio = kind === "audioinput";
    const old = stream && (audio ? stream.getAudioTracks()[0] : stream.getVideoTracks()[0]);
    if (!old || old.getSettings?.().deviceId === deviceId) return false;
    let fresh;
    try {
      const base = audio ? this.#audioConstraints(null) : this.#videoConstraints(null);
      if (deviceId) {
        delete base.facingMode;
        base.deviceId = { exact: deviceId };
      }
      const open = async () => {
        const picked = await navigator.mediaDevices.getUserMedia(audio ? { audio: base } : { video: base });
        return audio ? picked.getAudioTracks()[0] : picked.getVideoTracks()[0];
      };
      try {
        fresh = await open();
      } catch (err) {
        // Many phones cannot open a second camera while one is open: release it and retry.
        if (err?.name !== "NotReadableError") throw err;
        old.stop();
        fresh = await open();
      }
    } catch (err) {
      throw this.#mediaError(err);
    }
    if (this.localStream !== stream) {
      fresh.stop(); // the call ended meanwhile
      return false;
    }
    fresh.enabled = old.enabled;
    await this.peer?.replaceTrack(old.kind, fresh);
    stream.removeTrack(old);
    stream.addTrack(fresh);
    old.stop();
    this.emit("localstream", { stream });
    this.emit("devices", { current: this.currentDevices });
    return true;
  }

  /** RTCStatsReport of the current call's peer connection, or null. */
  async getStats() {
    return this.peer ? this.peer.getStats() : null;
  }

  // ---------------------------------------------------------------- REST helpers

  /** Searches people by username or display name (excluding me). */
  async searchUsers(q, { limit = 20 } = {}) {
    const { users } = await this.api.get("/users", { query: { q, limit } });
    return users;
  }

  async getUser(id) {
    return (await this.api.get(`/users/${encodeURIComponent(id)}`)).user;
  }

  /** My conversations (each with its participants), e.g. for a "recent" list. */
  async listConversations() {
    return (await this.api.get("/conversations")).conversations;
  }

  /** My call history page: `{calls, pagination}` (filters as in API.md). */
  async callHistory(query = {}) {
    return this.api.get("/calls/history", { query });
  }

  /** Deletes a finished call from my history (the other participant keeps it). */
  async deleteCall(callId) {
    return this.api.delete(`/calls/${encodeURIComponent(callId)}`);
  }

  /** How many calls I missed: `{unseen: true}` counts those since I last marked them seen. */
  async missedCount({ unseen = false, since } = {}) {
    const query = unseen ? { unseen: "true" } : { since };
    return (await this.api.get("/calls/missed/count", { query })).count;
  }

  /** Marks my missed calls up to now as seen, on all my devices; resolves to `seenAt`. */
  async markMissedSeen() {
    return (await this.api.post("/calls/missed/seen")).seenAt;
  }

  /** My call statistics between `from` (inclusive) and `to` (exclusive): Date or ISO string. */
  async callStats({ from, to } = {}) {
    const iso = (value) => (value instanceof Date ? value.toISOString() : value);
    return (await this.api.get("/calls/stats/summary", { query: { from: iso(from), to: iso(to) } })).stats;
  }
}

export default Switchboard;
