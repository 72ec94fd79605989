// The delivery-log page. Everything it shows comes from the admin endpoints and goes into the
// page as text (textContent), never as markup: message texts are whatever users typed.
"use strict";

const TOKEN_KEY = "botwire.admin.token";
const EVERY_MS = 2000;
const LIMIT = 200;

const $ = (id) => document.getElementById(id);

/** The admin endpoints refused the token (or want one). */
class Unauthorized extends Error {}

let timer = null;
let refreshing = false;

function storedToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** GET or POST an admin endpoint; the JSON answer, or an Error carrying its message. */
async function api(path, method = "GET") {
  const headers = {};
  const token = storedToken();
  if (token) {
    headers.Authorization = "Bearer " + token;
  }
  const response = await fetch(path, { method, headers, cache: "no-store", credentials: "omit" });
  if (response.status === 401) {
    throw new Unauthorized();
  }
  let body = null;
  try {
    body = await response.json();
  } catch (_) {
    // Not JSON: the status says enough.
  }
  if (!response.ok) {
    throw new Error((body && body.message) || "HTTP " + response.status);
  }
  return body;
}

/** A new element with `text` as its text and optional classes. */
function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) {
    node.textContent = String(text);
  }
  if (className) {
    node.className = className;
  }
  return node;
}

function cell(row, text, className) {
  const td = element("td", text, className);
  row.appendChild(td);
  return td;
}

/** "12:34:56.789" of an RFC 3339 time, the whole of it as the tooltip. */
function clock(at) {
  const td = element("td", at ? at.slice(11, 23) : "");
  td.title = at || "";
  return td;
}

function setStatus(text, failed) {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("error", Boolean(failed));
}

function showLogin(message) {
  stopTimer();
  $("main").hidden = true;
  $("logout").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
  setStatus("sign in to see the deliveries");
  $("token").focus();
}

function showMain() {
  $("login").hidden = true;
  $("main").hidden = false;
  $("logout").hidden = !storedToken();
}

/** Keeps a select's options in step with `values`, keeping what was chosen. */
function fillSelect(select, values, allLabel) {
  const wanted = (allLabel === undefined ? [] : [""]).concat(values);
  const current = Array.from(select.options).map((o) => o.value);
  if (current.length === wanted.length && current.every((v, i) => v === wanted[i])) {
    return;
  }
  const chosen = select.value;
  select.replaceChildren(
    ...wanted.map((value) => {
      const option = element("option", value === "" ? allLabel : value);
      option.value = value;
      return option;
    }),
  );
  if (wanted.includes(chosen)) {
    select.value = chosen;
  }
}

function fillList(list, pairs) {
  list.replaceChildren();
  for (const [name, value] of pairs) {
    const item = element("div", null, "pair");
    item.append(element("dt", name), element("dd", value));
    list.appendChild(item);
  }
}

function deliveriesQuery() {
  const query = new URLSearchParams({ limit: String(LIMIT) });
  const channel = $("filter-channel").value;
  const outcome = $("filter-outcome").value;
  const conversation = $("filter-conversation").value.trim();
  if (channel) query.set("channel", channel);
  if (outcome) query.set("outcome", outcome);
  if (conversation) query.set("conversation", conversation);
  return query.toString();
}

function renderDeliveries(records) {
  const body = $("deliveries").tBodies[0];
  body.replaceChildren();
  for (const record of records) {
    const row = document.createElement("tr");
    row.dataset.outcome = record.outcome;
    row.dataset.channel = record.channel;
    row.appendChild(clock(record.at));
    cell(row, record.channel);
    cell(row, record.kind || "");
    const conversation = cell(row, record.conversation || "", "id");
    if (record.conversation) {
      conversation.title = "look this conversation up";
      conversation.classList.add("link");
      conversation.addEventListener("click", () =>
        lookUp(record.channel, record.conversation),
      );
    }
    const states = record.state_before
      ? record.state_before + " → " + (record.state_after || record.state_before)
      : "";
    cell(row, states);
    const outcome = cell(row, null);
    outcome.appendChild(element("span", record.outcome.replace("_", " "), "badge " + record.outcome));
    if (record.attempt > 1) {
      outcome.appendChild(element("small", " attempt " + record.attempt));
    }
    cell(row, record.latency_ms + " ms", "num");
    if (record.reply !== null && record.reply !== undefined) {
      cell(row, record.reply, "text");
    } else {
      cell(row, record.detail || "", "text detail");
    }
    body.appendChild(row);
  }
  $("deliveries-empty").hidden = records.length > 0;
}

function renderDeadLetters(letters) {
  const body = $("dead-letters").tBodies[0];
  body.replaceChildren();
  for (const letter of letters) {
    const row = document.createElement("tr");
    row.dataset.id = String(letter.id);
    cell(row, letter.id, "num");
    row.appendChild(clock(letter.died_at));
    cell(row, letter.channel);
    cell(row, letter.conversation, "id");
    cell(row, letter.delivery_id, "id");
    cell(row, letter.attempts, "num");
    cell(row, letter.last_error ? letter.reason + ": " + letter.last_error : letter.reason, "text detail");
    const button = element("button", "Replay", "replay");
    button.type = "button";
    button.addEventListener("click", () => replay(letter.id, button));
    cell(row, null).appendChild(button);
    body.appendChild(row);
  }
  $("dead-letters-empty").hidden = letters.length > 0;
}

async function replay(id, button) {
  button.disabled = true;
  const result = $("replay-result");
  try {
    await api("/dead-letters/" + encodeURIComponent(id) + "/replay", "POST");
    result.textContent = "Dead letter " + id + " is queued again.";
    result.className = "";
  } catch (error) {
    if (error instanceof Unauthorized) {
      showLogin("The token was refused.");
      return;
    }
    result.textContent = "Dead letter " + id + " was not replayed: " + error.message;
    result.className = "error";
  }
  await refresh();
}

async function lookUp(channel, conversation) {
  $("lookup-channel").value = channel;
  $("lookup-conversation").value = conversation;
  const shown = $("conversation");
  shown.replaceChildren(element("p", "Looking up…"));
  let found;
  try {
    found = await api(
      "/conversations/" + encodeURIComponent(channel) + "/" + encodeURIComponent(conversation),
    );
  } catch (error) {
    if (error instanceof Unauthorized) {
      showLogin("The token was refused.");
      return;
    }
    shown.replaceChildren(element("p", "Not found: " + error.message, "error"));
    return;
  }
  const facts = element("dl");
  const state =
    found.state_kept_by === "platform"
      ? "kept by the platform (sent with each delivery)"
      : found.state === null
        ? "none yet (the bot's initial state)"
        : found.state + " (version " + found.version + ")";
  fillList(facts, [
    ["channel", found.channel],
    ["conversation", found.conversation],
    ["state", state],
  ]);
  const parts = [facts];
  if (found.data === null) {
    parts.push(element("p", found.data_error, "error"));
  } else if (found.data.length === 0) {
    parts.push(element("p", "Nothing remembered.", "empty"));
  } else {
    const table = element("table", null, "data");
    const head = table.createTHead().insertRow();
    head.append(element("th", "key"), element("th", "value"));
    const rows = table.createTBody();
    for (const entry of found.data) {
      const row = rows.insertRow();
      cell(row, entry.key, "id");
      cell(row, entry.value, "text");
    }
    parts.push(table);
  }
  shown.replaceChildren(...parts);
}

async function refresh() {
  if (refreshing) return;
  refreshing = true;
  try {
    const [log, queue] = await Promise.all([
      api("/deliveries?" + deliveriesQuery()),
      api("/dead-letters"),
    ]);
    showMain();
    const channels = log.channels.map((c) => c.name);
    fillSelect($("filter-channel"), channels, "all");
    fillSelect($("lookup-channel"), channels);
    fillSelect($("filter-outcome"), Object.keys(log.totals), "all");
    fillList($("totals"), Object.entries(log.totals).filter(([, n]) => n > 0));
    fillList($("queue"), [
      ["queued", queue.queued],
      ["in progress", queue.in_progress],
      ["capacity", queue.capacity],
      ["dead letters", queue.dead_letters.length],
    ]);
    renderDeliveries(log.deliveries);
    renderDeadLetters(queue.dead_letters);
    setStatus("updated " + new Date().toISOString().slice(11, 19) + " UTC");
    schedule();
  } catch (error) {
    if (error instanceof Unauthorized) {
      const had = storedToken();
      sessionStorage.removeItem(TOKEN_KEY);
      showLogin(had ? "That token was refused." : "");
    } else {
      setStatus("could not update: " + error.message, true);
      schedule();
    }
  } finally {
    refreshing = false;
  }
}

function stopTimer() {
  clearTimeout(timer);
  timer = null;
}

function schedule() {
  stopTimer();
  if ($("live").checked) {
    timer = setTimeout(refresh, EVERY_MS);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
    $("token").value = "";
    refresh();
  });
  $("logout").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin("");
  });
  $("filters").addEventListener("submit", (event) => event.preventDefault());
  for (const id of ["filter-channel", "filter-outcome", "live"]) {
    $(id).addEventListener("change", refresh);
  }
  $("filter-conversation").addEventListener("input", refresh);
  $("lookup").addEventListener("submit", (event) => {
    event.preventDefault();
    lookUp($("lookup-channel").value, $("lookup-conversation").value.trim());
  });
  refresh();
});
