// The playground's JSON API; every error comes back as an Error with the server's message (in
// the page's language: every request says it, as the member's Discord client would).

import { language } from "./i18n.js";

const headers = (more = {}) => ({ Accept: "application/json", "Accept-Language": language(), ...more });

async function answer(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const message = body && body.error ? body.error : `${response.status} ${response.statusText}`;
    throw new Error(message);
  }
  return body;
}

export function get(path) {
  return fetch(path, { headers: headers() }).then(answer);
}

export function post(path, body) {
  return fetch(path, {
    method: "POST",
    headers: headers({ "Content-Type": "application/json" }),
    body: JSON.stringify(body),
  }).then(answer);
}

// A multipart body like Discord's: payload_json plus one part per file, named by the caller.
export function postFiles(path, payload, files) {
  const form = new FormData();
  form.append("payload_json", JSON.stringify(payload));
  for (const [name, file] of files) form.append(name, file, file.name);
  return fetch(path, { method: "POST", body: form, headers: headers() })
    .then(answer);
}

// Live events; reconnects (and tells the page, which reloads its state) after a drop.
export function events(onEvent, onStatus) {
  let retry = 500;
  function connect() {
    const socket = new WebSocket(`ws://${location.host}/api/events`);
    socket.onopen = () => {
      retry = 500;
      onStatus(true);
    };
    socket.onmessage = (message) => onEvent(JSON.parse(message.data));
    socket.onclose = () => {
      onStatus(false);
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 5000);
    };
  }
  connect();
}
