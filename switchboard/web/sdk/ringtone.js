// A ringtone made with Web Audio (no audio file). Browsers block sound until the person has
// interacted with the page; `start()` then resolves to false so the page can show a visible
// fallback, and `unlock()` (called from a click) makes it audible.

const PATTERN_MS = 3000;
const NOTES = [
  { at: 0.0, freq: 784, dur: 0.16 },
  { at: 0.2, freq: 988, dur: 0.16 },
  { at: 0.4, freq: 1175, dur: 0.28 },
  { at: 1.0, freq: 784, dur: 0.16 },
  { at: 1.2, freq: 988, dur: 0.16 },
  { at: 1.4, freq: 1175, dur: 0.28 },
];

export class Ringtone {
  constructor({ volume = 0.18 } = {}) {
    this.volume = volume;
    this.ctx = null;
    this.timer = null;
    this.playing = false;
  }

  /** True when the browser lets this page play sound now. */
  get audible() {
    return Boolean(this.ctx && this.ctx.state === "running");
  }

  #canCreate() {
    const activation = globalThis.navigator?.userActivation;
    // Without any interaction with the page the context would only be created suspended (and
    // Chromium warns about it), so do not even try.
    return !activation || activation.hasBeenActive;
  }

  async #context() {
    if (!this.ctx) {
      if (!this.#canCreate()) return null;
      const AudioCtx = globalThis.AudioContext ?? globalThis.webkitAudioContext;
      if (!AudioCtx) return null;
      this.ctx = new AudioCtx();
    }
    if (this.ctx.state === "suspended") {
      await Promise.race([
        this.ctx.resume().catch(() => {}),
        new Promise((resolve) => setTimeout(resolve, 300)),
      ]);
    }
    return this.ctx;
  }

  /** Starts ringing; resolves to true when audible, false when the browser blocks sound. */
  async start() {
    if (this.playing) return this.audible;
    this.playing = true;
    const ctx = await this.#context();
    if (!this.playing) return false;
    if (!ctx || ctx.state !== "running") return false;
    this.#loop();
    return true;
  }

  /** Call from a user gesture (a click) to make a blocked ringtone audible. */
  async unlock() {
    const ctx = await this.#context();
    if (ctx && ctx.state === "running" && this.playing && !this.timer) this.#loop();
    return this.audible;
  }

  #loop() {
    this.#playPattern();
    this.timer = setInterval(() => this.#playPattern(), PATTERN_MS);
  }

  #playPattern() {
    const ctx = this.ctx;
    if (!ctx || ctx.state !== "running") return;
    const start = ctx.currentTime + 0.02;
    for (const note of NOTES) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = "sine";
      osc.frequency.value = note.freq;
      const t = start + note.at;
      gain.gain.setValueAtTime(0, t);
      gain.gain.linearRampToValueAtTime(this.volume, t + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + note.dur);
      osc.connect(gain).connect(ctx.destination);
      osc.start(t);
      osc.stop(t + note.dur + 0.05);
    }
  }

  stop() {
    this.playing = false;
    clearInterval(this.timer);
    this.timer = null;
    if (this.ctx && this.ctx.state === "running") this.ctx.suspend().catch(() => {});
  }
}
