// Server-sent events read with fetch() streaming (not EventSource): the bearer
// token goes in a header, never in the URL, and no cookie is needed.

import { API, authHeaders, setToken } from "./api.js";

/** Parse one SSE block ("event: x\ndata: ...") into {event, data} or null for comments. */
export function parseBlock(block) {
  let event = "message";
  const data = [];
  for (const line of block.split(/\r?\n/)) {
    if (line === "" || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  return data.length ? { event, data: data.join("\n") } : null;
}

/**
 * Read `path` as an event stream until `signal` aborts; reconnect with backoff.
 * onEvent(event, data) for each event; onState("open"|"retrying"|"closed", error).
 * onOpen() is awaited on every (re)connection before events are applied.
 */
export async function stream(path, { onEvent, onState, onOpen, signal }) {
  let delay = 500;
  while (!signal.aborted) {
    try {
      const response = await fetch(API + path, {
        headers: authHeaders({ Accept: "text/event-stream" }),
        signal,
        cache: "no-store",
      });
      if (response.status === 401) {
        // The token expired or was revoked: sign out instead of retrying forever.
        setToken(null);
        window.dispatchEvent(new Event("dorm:logout"));
        break;
      }
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      if (onOpen) await onOpen();
      onState("open");
      delay = 500;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let match;
        while ((match = /\r?\n\r?\n/.exec(buffer))) {
          const block = buffer.slice(0, match.index);
          buffer = buffer.slice(match.index + match[0].length);
          const parsed = parseBlock(block);
          if (parsed) onEvent(parsed.event, parsed.data);
        }
      }
      if (!signal.aborted) onState("retrying", new Error("stream ended"));
    } catch (error) {
      if (signal.aborted) break;
      onState("retrying", error);
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 15000);
  }
  onState("closed");
}
