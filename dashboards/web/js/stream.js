// The live event stream: GET /api/v1/stream read with fetch() (EventSource cannot send the
// Authorization header), framed by SseParser, reconnected with backoff. The server sends a
// keep-alive comment every 15 s, so 45 s of silence means the connection is dead even when the
// socket has not noticed (a phone changing networks).

import { getKey } from "./api.js";
import { SseParser, backoff } from "./logic.js";

const SILENCE_MS = 45000;

export class LiveStream {
  /** onEvent(type, data) for each event; onState("connecting"|"live"|"reconnecting"|"stopped"). */
  constructor({ onEvent, onState, onUnauthorized }) {
    this.onEvent = onEvent;
    this.onState = onState;
    this.onUnauthorized = onUnauthorized;
    this.attempt = 0;
    this.controller = null;
    this.timer = null;
    this.watchdog = null;
    this.running = false;
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.connect();
  }

  stop() {
    this.running = false;
    clearTimeout(this.timer);
    clearTimeout(this.watchdog);
    if (this.controller) this.controller.abort();
    this.onState("stopped");
  }

  touch() {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => this.controller && this.controller.abort(), SILENCE_MS);
  }

  async connect() {
    this.onState(this.attempt === 0 ? "connecting" : "reconnecting");
    this.controller = new AbortController();
    this.touch();
    try {
      const response = await fetch("/api/v1/stream", {
        headers: { Authorization: `Bearer ${getKey()}`, Accept: "text/event-stream" },
        signal: this.controller.signal,
        cache: "no-store",
      });
      if (response.status === 401) {
        this.running = false;
        this.onUnauthorized();
        return;
      }
      if (!response.ok || !response.body) throw new Error(`stream answered ${response.status}`);
      this.attempt = 0;
      this.onState("live");
      await this.read(response.body.getReader());
    } catch {
      // aborted, refused or dropped: retry below
    }
    clearTimeout(this.watchdog);
    if (!this.running) return;
    this.onState("reconnecting");
    this.timer = setTimeout(() => this.connect(), backoff(this.attempt++));
  }

  async read(reader) {
    const decoder = new TextDecoder();
    const parser = new SseParser();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      this.touch();
      for (const frame of parser.push(decoder.decode(value, { stream: true }))) {
        let data = frame.data;
        try {
          data = JSON.parse(frame.data);
        } catch {
          // keep the text
        }
        this.onEvent(frame.event, data);
      }
    }
  }
}
