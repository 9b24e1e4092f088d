// The WebSocket to /ws: connects with the token and the device id, reconnects with back-off,
// keeps the socket alive with pings, queues outgoing frames while it is down, and matches
// acks/errors to the frames that carried an id. Frames are parsed by codec.js only.

import { CodecError, decode, encodePing, encodeSignal } from "./codec.js";
import { Emitter } from "./emitter.js";

const PING_INTERVAL_MS = 20000;
const PONG_TIMEOUT_MS = 10000;
const ACK_TIMEOUT_MS = 10000;
const MAX_QUEUED_FRAMES = 200;

/** Close codes from the contract. */
export const CLOSE_UNAUTHORIZED = 4401;
export const CLOSE_REPLACED = 4409;

/**
 * Events: "state" {state} with state in "connecting" | "open" | "reconnecting" | "closed" |
 * "replaced" | "unauthorized"; "frame" {event} for every decoded server event (hello included);
 * "protocol-error" {error} when a server frame cannot be decoded.
 */
export class Gateway extends Emitter {
  constructor({ url, backoff = { initialMs: 500, maxMs: 15000 } }) {
    super();
    this.makeUrl = url;
    this.backoff = backoff;
    this.state = "closed";
    this.ws = null;
    this.attempt = 0;
    this.wanted = false;
    this.ready = false; // true once the current socket's hello arrived
    this.queue = [];
    this.pending = new Map();
    this.seq = 0;
    this.timers = { reconnect: null, ping: null, pong: null };
    this.onOnline = () => {
      if (this.wanted && this.state === "reconnecting") this.#reconnectNow();
    };
  }

  #setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.emit("state", { state });
  }

  /** Opens the socket (and keeps it open until `close`). */
  open() {
    this.wanted = true;
    globalThis.addEventListener?.("online", this.onOnline);
    if (this.ws) return;
    this.#connect();
  }

  /** Closes the socket for good (sign-out, or the page leaving). */
  close() {
    this.wanted = false;
    globalThis.removeEventListener?.("online", this.onOnline);
    this.#clearTimers();
    const ws = this.ws;
    this.ws = null;
    this.ready = false;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      ws.close(1000, "client closed");
    }
    this.#failPending("closed");
    this.queue = [];
    this.#setState("closed");
  }

  /** Replaces a socket closed with 4409 by this device's other tab. */
  takeOver() {
    this.attempt = 0;
    this.wanted = true;
    if (!this.ws) this.#connect();
  }

  #connect() {
    this.#clearTimers();
    this.#setState(this.attempt === 0 ? "connecting" : "reconnecting");
    let ws;
    try {
      ws = new WebSocket(this.makeUrl());
    } catch (err) {
      this.emit("protocol-error", { error: err });
      this.#scheduleReconnect();
      return;
    }
    this.ws = ws;
    this.ready = false;
    ws.onmessage = (message) => this.#onMessage(message.data);
    ws.onclose = (close) => this.#onClose(ws, close.code);
    ws.onerror = () => {}; // followed by close; the browser already logs the failure
  }

  #onMessage(text) {
    let event;
    try {
      event = decode(text);
    } catch (err) {
      if (err instanceof CodecError) {
        this.emit("protocol-error", { error: err });
        console.error("[switchboard] protocol error:", err.message, err.frame);
        return;
      }
      throw err;
    }
    if (event.type === "hello") {
      this.attempt = 0;
      this.ready = true;
      this.#setState("open");
      this.#startPing();
      this.emit("frame", { event });
      this.#flush();
      return;
    }
    if (event.type === "pong" || event.type === "ack" || event.type === "error") {
      if (event.type === "pong") clearTimeout(this.timers.pong);
      const waiter = event.id ? this.pending.get(event.id) : null;
      if (waiter) {
        this.pending.delete(event.id);
        clearTimeout(waiter.timer);
        if (event.type === "error") waiter.reject(Object.assign(new Error(event.message || event.code), { code: event.code }));
        else waiter.resolve(event);
      }
      if (event.type === "error" && !waiter) this.emit("frame", { event });
      return;
    }
    this.emit("frame", { event });
  }

  #onClose(ws, code) {
    if (ws !== this.ws) return;
    this.ws = null;
    this.ready = false;
    this.#clearTimers();
    this.#failPending("disconnected");
    if (!this.wanted) return this.#setState("closed");
    if (code === CLOSE_UNAUTHORIZED) {
      this.wanted = false;
      return this.#setState("unauthorized");
    }
    if (code === CLOSE_REPLACED) {
      this.wanted = false;
      return this.#setState("replaced");
    }
    this.#scheduleReconnect();
  }

  #scheduleReconnect() {
    this.attempt += 1;
    this.#setState("reconnecting");
    const { initialMs, maxMs } = this.backoff;
    const base = Math.min(maxMs, initialMs * 2 ** (this.attempt - 1));
    const delay = base / 2 + Math.random() * (base / 2);
    this.timers.reconnect = setTimeout(() => this.#connect(), delay);
  }

  #reconnectNow() {
    clearTimeout(this.timers.reconnect);
    this.#connect();
  }

  /** Drops the current socket and reconnects at once (e.g. to test or after a network change). */
  reconnect() {
    if (this.ws) this.ws.close(4000, "reconnect");
    else if (this.wanted) this.#reconnectNow();
  }

  #startPing() {
    clearInterval(this.timers.ping);
    this.timers.ping = setInterval(() => {
      if (!this.ready) return;
      this.#sendRaw(encodePing(this.#nextId()));
      clearTimeout(this.timers.pong);
      this.timers.pong = setTimeout(() => this.ws?.close(4000, "pong timeout"), PONG_TIMEOUT_MS);
    }, PING_INTERVAL_MS);
  }

  #clearTimers() {
    clearTimeout(this.timers.reconnect);
    clearInterval(this.timers.ping);
    clearTimeout(this.timers.pong);
  }

  #failPending(reason) {
    for (const [id, waiter] of this.pending) {
      clearTimeout(waiter.timer);
      waiter.reject(Object.assign(new Error(reason), { code: reason }));
      this.pending.delete(id);
    }
  }

  #nextId() {
    this.seq += 1;
    return `c${Date.now().toString(36)}${this.seq}`;
  }

  #sendRaw(text) {
    if (this.ws && this.ready && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(text);
      return true;
    }
    return false;
  }

  #flush() {
    const queued = this.queue;
    this.queue = [];
    for (const item of queued) this.#dispatch(item);
  }

  #dispatch(item) {
    if (this.#sendRaw(item.text)) {
      item.timer = setTimeout(() => {
        this.pending.delete(item.id);
        item.reject(Object.assign(new Error("no ack"), { code: "timeout" }));
      }, ACK_TIMEOUT_MS);
      this.pending.set(item.id, item);
    } else if (this.queue.length < MAX_QUEUED_FRAMES) {
      this.queue.push(item);
    } else {
      item.reject(Object.assign(new Error("queue full"), { code: "queue_full" }));
    }
  }

  /**
   * Sends a signal; resolves on the server's ack, rejects with {code} on an error frame. While the
   * socket is down the frame waits (in order) and goes out after the next hello.
   */
  sendSignal(callId, kind, payload) {
    return new Promise((resolve, reject) => {
      const id = this.#nextId();
      this.#dispatch({ id, text: encodeSignal({ callId, kind, payload, id }), resolve, reject });
    });
  }
}
