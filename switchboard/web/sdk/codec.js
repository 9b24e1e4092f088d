// The one wire codec of the Switchboard browser SDK.
//
// Every WebSocket frame is one JSON object: {type, data, id?}. `decode` turns a server frame into
// an event object and switches on `type` with a default that throws: a frame type this SDK does
// not know is a contract change, and it must fail loudly instead of being silently ignored.
// `encode*` build the client frames. Nothing else in the SDK parses or builds frames.

/** Signal kinds the gateway relays (API.md, "Client to server"). */
export const SIGNAL_KINDS = Object.freeze([
  "offer",
  "answer",
  "ice-candidate",
  "renegotiate",
  "media-state",
]);

/** Raised for a frame that is not valid JSON, lacks required fields, or has an unknown type. */
export class CodecError extends Error {
  constructor(message, frame) {
    super(message);
    this.name = "CodecError";
    this.frame = frame;
  }
}

function requireObject(value, what, frame) {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new CodecError(`${what} must be an object`, frame);
  }
  return value;
}

function requireCall(data, frame) {
  const call = requireObject(data.call, "data.call", frame);
  if (typeof call.id !== "string" || typeof call.version !== "number") {
    throw new CodecError("data.call needs id and version", frame);
  }
  return call;
}

function optionalCall(value, frame) {
  if (value === null || value === undefined) return null;
  return requireCall({ call: value }, frame);
}

/**
 * Parses one server frame (a string) into an event:
 *   {type: "hello", user, connectionId, activeCall}
 *   {type: "call.initiated" | "call.incoming" | "call.rejected" | "call.missed" | "call.ended", call}
 *   {type: "call.answered", call, connectionId}
 *   {type: "signal", callId, from, fromConnectionId, kind, payload}
 *   {type: "presence", userId, online}
 *   {type: "sync", activeCall}
 *   {type: "pong", id}
 *   {type: "ack", id}
 *   {type: "error", id, code, message}
 * Throws CodecError for anything else.
 */
export function decode(text) {
  let frame;
  try {
    frame = JSON.parse(text);
  } catch (err) {
    throw new CodecError(`frame is not JSON: ${err.message}`, text);
  }
  requireObject(frame, "frame", text);
  if (typeof frame.type !== "string") throw new CodecError("frame.type is missing", frame);
  const data = frame.data === undefined ? {} : requireObject(frame.data, "frame.data", frame);
  const id = typeof frame.id === "string" ? frame.id : null;

  switch (frame.type) {
    case "hello":
      requireObject(data.user, "data.user", frame);
      if (typeof data.connectionId !== "string") {
        throw new CodecError("hello needs data.connectionId", frame);
      }
      return {
        type: "hello",
        user: data.user,
        connectionId: data.connectionId,
        activeCall: optionalCall(data.activeCall, frame),
      };
    case "sync":
      return { type: "sync", activeCall: optionalCall(data.activeCall, frame) };
    case "call.initiated":
    case "call.incoming":
    case "call.rejected":
    case "call.missed":
    case "call.ended":
      return { type: frame.type, call: requireCall(data, frame) };
    case "call.answered":
      return {
        type: "call.answered",
        call: requireCall(data, frame),
        connectionId: typeof data.connectionId === "string" ? data.connectionId : null,
      };
    case "signal":
      if (typeof data.callId !== "string" || !SIGNAL_KINDS.includes(data.kind)) {
        throw new CodecError("signal needs callId and a known kind", frame);
      }
      return {
        type: "signal",
        callId: data.callId,
        from: data.from ?? null,
        fromConnectionId: data.fromConnectionId ?? null,
        kind: data.kind,
        payload: data.payload ?? {},
      };
    case "presence":
      if (typeof data.userId !== "string") throw new CodecError("presence needs userId", frame);
      return { type: "presence", userId: data.userId, online: Boolean(data.online) };
    case "pong":
      return { type: "pong", id };
    case "ack":
      return { type: "ack", id };
    case "error":
      return {
        type: "error",
        id,
        code: typeof data.code === "string" ? data.code : "unknown_error",
        message: typeof data.message === "string" ? data.message : "",
      };
    default:
      throw new CodecError(`unknown frame type "${frame.type}"`, frame);
  }
}

function frame(type, data, id) {
  const out = { type, data };
  if (id) out.id = id;
  return JSON.stringify(out);
}

/** A `signal` frame: kind is one of SIGNAL_KINDS. */
export function encodeSignal({ callId, kind, payload, id }) {
  if (!SIGNAL_KINDS.includes(kind)) throw new CodecError(`unknown signal kind "${kind}"`, kind);
  return frame("signal", { callId, kind, payload: payload ?? {} }, id);
}

/** A `ping` frame. */
export function encodePing(id) {
  return frame("ping", {}, id);
}
