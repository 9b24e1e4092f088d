// One RTCPeerConnection for one call, with the perfect-negotiation pattern
// (https://w3c.github.io/webrtc-pc/#perfect-negotiation-example) and trickle ICE.
//
// The caller is the impolite peer and makes the first offer; the receiver is polite and attaches
// its tracks when the first offer arrives, so it never offers first (API.md: "The caller sends its
// offer when it gets call.answered"). Either side may renegotiate later (e.g. an ICE restart).

import { Emitter } from "./emitter.js";

const DISCONNECTED_RESTART_MS = 4000;

/**
 * Events: "track" {stream} (the remote MediaStream), "state" {state} (RTCPeerConnection
 * connectionState), "failed" {} once ICE/DTLS failed for good.
 */
export class PeerSession extends Emitter {
  /**
   * @param {object} o
   * @param {RTCConfiguration} o.configuration
   * @param {boolean} o.polite
   * @param {MediaStream|null} o.localStream
   * @param {(kind: string, payload: object) => Promise<unknown>} o.send
   * @param {boolean} o.offerFirst  true for the caller: attach tracks now and offer
   */
  constructor({ configuration, polite, localStream, send, offerFirst }) {
    super();
    this.polite = polite;
    this.localStream = localStream;
    this.send = send;
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.isSettingRemoteAnswerPending = false;
    this.pendingCandidates = [];
    this.attached = new Set();
    this.closed = false;
    this.remoteStream = new MediaStream();
    this.restartTimer = null;
    this.chain = Promise.resolve();

    const pc = new RTCPeerConnection(configuration);
    this.pc = pc;
    pc.onnegotiationneeded = () => this.#negotiate();
    pc.onicecandidate = ({ candidate }) => {
      const payload = candidate ? candidate.toJSON() : { candidate: "" };
      this.#send("ice-candidate", payload);
    };
    pc.ontrack = ({ track, streams }) => {
      const stream = streams[0];
      if (stream && stream !== this.remoteStream) {
        for (const t of stream.getTracks()) {
          if (!this.remoteStream.getTrackById(t.id)) this.remoteStream.addTrack(t);
        }
      } else if (!this.remoteStream.getTrackById(track.id)) {
        this.remoteStream.addTrack(track);
      }
      track.onunmute = () => this.emit("track", { stream: this.remoteStream });
      this.emit("track", { stream: this.remoteStream });
    };
    pc.onconnectionstatechange = () => this.#onState();
    if (offerFirst) this.#attachLocalTracks();
  }

  #send(kind, payload) {
    if (this.closed) return;
    this.send(kind, payload).catch((err) => {
      if (!this.closed) console.warn(`[switchboard] ${kind} not delivered:`, err.code ?? err);
    });
  }

  #attachLocalTracks() {
    if (!this.localStream) return;
    for (const track of this.localStream.getTracks()) {
      if (this.attached.has(track.id)) continue;
      this.attached.add(track.id);
      this.pc.addTrack(track, this.localStream);
    }
  }

  async #negotiate() {
    if (this.closed) return;
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      this.#send("offer", this.pc.localDescription.toJSON());
    } catch (err) {
      if (!this.closed) console.warn("[switchboard] could not make an offer:", err);
    } finally {
      this.makingOffer = false;
    }
  }

  #onState() {
    const state = this.pc.connectionState;
    this.emit("state", { state });
    clearTimeout(this.restartTimer);
    if (state === "disconnected" && !this.polite) {
      // Give the network a moment; then ask for fresh candidates (an ICE restart).
      this.restartTimer = setTimeout(() => {
        if (this.pc.connectionState === "disconnected") this.restartIce();
      }, DISCONNECTED_RESTART_MS);
    }
    if (state === "failed") this.emit("failed", {});
  }

  /** Handles a relayed signal of this call: offer, answer, ice-candidate, renegotiate. */
  handleSignal(kind, payload) {
    // Signals are applied one after another, in the order the server relayed them.
    this.chain = this.chain.then(() => this.#apply(kind, payload)).catch((err) => {
      if (!this.closed) console.warn(`[switchboard] could not apply ${kind}:`, err);
    });
    return this.chain;
  }

  async #apply(kind, payload) {
    if (this.closed) return;
    const pc = this.pc;
    if (kind === "offer" || kind === "answer") {
      const description = { type: payload.type ?? kind, sdp: payload.sdp };
      const readyForOffer =
        !this.makingOffer && (pc.signalingState === "stable" || this.isSettingRemoteAnswerPending);
      const offerCollision = description.type === "offer" && !readyForOffer;
      this.ignoreOffer = !this.polite && offerCollision;
      if (this.ignoreOffer) return;
      this.isSettingRemoteAnswerPending = description.type === "answer";
      await pc.setRemoteDescription(description);
      this.isSettingRemoteAnswerPending = false;
      await this.#drainCandidates();
      if (description.type === "offer") {
        this.#attachLocalTracks();
        await pc.setLocalDescription();
        this.#send("answer", pc.localDescription.toJSON());
      }
    } else if (kind === "ice-candidate") {
      if (!pc.remoteDescription) {
        this.pendingCandidates.push(payload);
        return;
      }
      await this.#addCandidate(payload);
    } else if (kind === "renegotiate") {
      this.restartIce();
    }
  }

  async #drainCandidates() {
    const queued = this.pendingCandidates;
    this.pendingCandidates = [];
    for (const candidate of queued) await this.#addCandidate(candidate);
  }

  async #addCandidate(payload) {
    try {
      if (!payload || !payload.candidate) {
        await this.pc.addIceCandidate(); // end of candidates
      } else {
        await this.pc.addIceCandidate(payload);
      }
    } catch (err) {
      if (!this.ignoreOffer && !this.closed) throw err;
    }
  }

  /** Starts an ICE restart (a new offer with fresh ICE credentials). */
  restartIce() {
    if (this.closed) return;
    if (this.polite && !this.pc.localDescription) return;
    this.pc.restartIce();
  }

  /** Replaces the outgoing track of a kind (e.g. after switching camera). */
  async replaceTrack(kind, track) {
    const sender = this.pc.getSenders().find((s) => s.track?.kind === kind);
    if (sender) await sender.replaceTrack(track);
  }

  getStats() {
    return this.pc.getStats();
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.restartTimer);
    this.pc.onnegotiationneeded = this.pc.onicecandidate = this.pc.ontrack = null;
    this.pc.onconnectionstatechange = null;
    this.pc.close();
  }
}
