/* The operator console: the hand-off queue with each ticket's summary; claim, reply, release, close.
   The queue refreshes every 4 s and an open dialog every 2 s (polling, like the chat page). */
"use strict";

const QUEUE_MS = 4000;
const DIALOG_MS = 2000;
const REASONS = {
  operator_requested: "Client asked for a person",
  transfer_only_intent: "Topic always handled by a person",
  unsure: "Assistant unsure",
  second_line_unavailable: "Knowledge question, no second line",
  assistant_error: "Assistant error",
  high_voc_risk: "High VOC risk",
  predicted_dislike: "Answer likely disliked",
  no_relevant_passage: "Nothing relevant in the knowledge base",
  ungrounded: "Generated answer not grounded",
  censored: "Generated answer censored",
  prompt_injection: "Prompt injection suspected",
  second_line_error: "Second line error",
  no_citation: "Generated answer without a source",
};
const KNOWN_SUMMARY_KEYS = new Set([
  "reason", "intents", "entities", "last_messages", "turns", "ocr_text", "risk_score", "risk",
]);

const state = {
  name: sessionStorage.getItem("twoline.operatorName") || "",
  key: sessionStorage.getItem("twoline.operatorKey") || "",
  tickets: [],
  rendered: null,
  current: null,
  lastId: 0,
  queueTimer: null,
  queueCalls: 0,
  dialogCalls: 0,
  dialogTimer: null,
};
const $ = (id) => document.getElementById(id);

function showError(result) {
  const box = $("error");
  if (!result) {
    box.hidden = true;
    box.textContent = "";
    return;
  }
  box.textContent = typeof result === "string" ? result : `${result.message} (${result.code})`;
  box.hidden = false;
}

function call(path, options = {}) {
  // Headers carry Latin-1 only: the name goes percent-encoded as UTF-8 ("Анна"), which the service decodes.
  const headers = { "X-Operator": encodeURIComponent(state.name) };
  return apiCall(path, { key: state.key, headers, ...options });
}

/* -- queue ---------------------------------------------------------------------------------- */
async function refreshQueue() {
  clearTimeout(state.queueTimer);
  const generation = ++state.queueCalls; // a newer refresh supersedes this one (one timer chain)
  const filter = $("queue-filter").value;
  const status = filter === "mine" ? "claimed" : filter;
  const result = await call(`/v1/handoffs?status=${status}&limit=200`);
  if (generation !== state.queueCalls) return;
  if (result.status === 401) {
    signOut("The operator key was refused.");
    return;
  }
  if (result.ok) {
    state.tickets = filter === "mine" ? result.data.filter((t) => t.claimed_by === state.name) : result.data;
    renderQueue();
  }
  state.queueTimer = setTimeout(refreshQueue, QUEUE_MS);
}

function riskOf(summary) {
  const value = summary.risk_score ?? (summary.risk && summary.risk.score);
  return typeof value === "number" ? value : null;
}

function ocrOf(summary) {
  if (summary.ocr_text) return summary.ocr_text;
  const withOcr = (summary.last_messages || []).filter((m) => m.ocr_text).map((m) => m.ocr_text);
  return withOcr.join("\n") || null;
}

function ticketCard(ticket) {
  const s = ticket.summary || {};
  const risk = riskOf(s);
  const ocr = ocrOf(s);
  const urgent = ticket.priority >= 40;
  const mine = ticket.status === "claimed" && ticket.claimed_by === state.name;
  const facts = el("dl", { class: "facts" });
  const fact = (term, ...value) => facts.append(el("dt", {}, term), el("dd", {}, ...value));
  fact("Why", REASONS[ticket.reason] || ticket.reason);
  if (s.intents && s.intents.length) {
    fact("Intents", el("ul", { class: "chips" }, s.intents.map((i) =>
      el("li", {}, `${i.intent} ${Math.round((i.confidence || 0) * 100)}%`))));
  }
  if (s.entities && s.entities.length) {
    fact("Entities", el("ul", { class: "chips" }, s.entities.map((e) => el("li", {}, `${e.kind}: ${e.value}`))));
  }
  if (risk !== null) fact("Risk score", el("span", { class: risk >= 0.5 ? "risk high" : "risk" }, risk.toFixed(2)));
  if (ocr) fact("Screenshot text", el("pre", { class: "ocr" }, ocr));
  for (const [key, value] of Object.entries(s)) {
    if (KNOWN_SUMMARY_KEYS.has(key) || value === null || value === undefined) continue;
    fact(key.replace(/_/g, " "), typeof value === "object" ? JSON.stringify(value) : String(value));
  }
  const last = (s.last_messages || []).map((m) =>
    el("li", { class: `mini ${m.role}` }, el("b", {}, `${m.role}: `), m.text || (m.ocr_text ? "[screenshot]" : "")));
  const actions = el("div", { class: "ticket-buttons" });
  if (ticket.status === "open") {
    actions.append(el("button", { type: "button", class: "claim", onclick: () => claim(ticket.ticket_id) },
      `Claim ticket #${ticket.ticket_id}`));
  } else if (mine) {
    actions.append(el("button", { type: "button", class: "open", onclick: () => openDialog(ticket) },
      `Open ticket #${ticket.ticket_id}`));
  } else if (ticket.status === "claimed") {
    actions.append(el("p", { class: "claimed-by" }, `Handled by ${ticket.claimed_by}`));
  } else {
    actions.append(el("p", { class: "claimed-by" }, `Closed by ${ticket.claimed_by || "—"}: ${ticket.outcome}`));
  }
  return el(
    "li",
    { class: `ticket ${ticket.status}${urgent ? " urgent" : ""}${mine ? " mine" : ""}`, dataset: { ticketId: ticket.ticket_id } },
    el("div", { class: "ticket-head" },
      el("h3", {}, `#${ticket.ticket_id} `, el("span", { class: "client" }, ticket.client_id)),
      el("span", { class: "badges" },
        urgent ? el("span", { class: "badge urgent" }, "urgent") : null,
        el("span", { class: `badge ${ticket.status}` }, ticket.status),
        el("time", { datetime: ticket.created_at }, timeOf(ticket.created_at)))),
    facts,
    last.length ? el("details", { class: "last-messages", open: ticket.status === "open" },
      el("summary", {}, `Last messages (client turns: ${s.turns ?? last.length})`), el("ol", {}, last)) : null,
    actions,
  );
}

function renderQueue() {
  const snapshot = JSON.stringify([state.name, state.tickets]);
  if (snapshot === state.rendered) return; // unchanged: keep focus and do not re-announce
  state.rendered = snapshot;
  const list = $("tickets");
  const focusedId = document.activeElement && document.activeElement.closest(".ticket")?.dataset.ticketId;
  list.replaceChildren(...state.tickets.map(ticketCard));
  if (!state.tickets.length) list.append(el("li", { class: "empty" }, "No tickets here."));
  $("queue-count").textContent = `(${state.tickets.length})`;
  $("queue-status").textContent = `${state.tickets.length} tickets in the queue`;
  if (focusedId) list.querySelector(`[data-ticket-id="${focusedId}"] button`)?.focus();
}

async function claim(ticketId) {
  showError(null);
  const result = await call(`/v1/handoffs/${ticketId}/claim`, { method: "POST" });
  if (!result.ok) {
    showError(result);
    refreshQueue();
    return;
  }
  openDialog(result.data);
  refreshQueue();
}

/* -- one dialog ----------------------------------------------------------------------------- */
function openDialog(ticket) {
  state.current = ticket;
  state.lastId = 0;
  $("dialog-log").replaceChildren();
  $("dialog-title").textContent = `Ticket #${ticket.ticket_id}`;
  $("dialog-meta").textContent =
    `Client ${ticket.client_id} · ${REASONS[ticket.reason] || ticket.reason} · claimed by ${ticket.claimed_by}`;
  $("dialog").hidden = false;
  $("no-dialog").hidden = true;
  document.body.classList.add("dialog-open");
  refreshDialog();
  $("reply-text").focus();
}

function closeDialog() {
  clearTimeout(state.dialogTimer);
  state.current = null;
  $("dialog").hidden = true;
  $("no-dialog").hidden = false;
  document.body.classList.remove("dialog-open");
}

async function refreshDialog() {
  clearTimeout(state.dialogTimer);
  const ticket = state.current;
  if (!ticket) return;
  const generation = ++state.dialogCalls;
  const result = await call(`/v1/dialogs/${encodeURIComponent(ticket.dialog_id)}/messages?after=${state.lastId}`);
  if (generation !== state.dialogCalls) return; // a newer refresh runs
  if (result.ok && state.current === ticket) {
    for (const message of result.data.messages) {
      if (message.id <= state.lastId) continue;
      state.lastId = message.id;
      const who = message.role === "operator" ? `${message.author || "operator"} (operator)` : message.role;
      $("dialog-log").append(el("li", { class: `message ${message.role}` },
        el("p", { class: "meta" }, el("span", { class: "who" }, who), " ", el("time", {}, timeOf(message.created_at))),
        el("p", { class: "text" }, message.text || "[screenshot]"),
        message.ocr_text ? el("pre", { class: "ocr", "aria-label": "Text read from the screenshot" }, message.ocr_text) : null));
    }
    const log = $("dialog-log");
    log.scrollTop = log.scrollHeight;
  }
  if (state.current === ticket) state.dialogTimer = setTimeout(refreshDialog, DIALOG_MS);
}

async function sendReply(event) {
  event.preventDefault();
  const text = $("reply-text").value;
  if (!text.trim() || !state.current) return;
  $("reply-send").disabled = true;
  const result = await call(`/v1/handoffs/${state.current.ticket_id}/reply`, { method: "POST", body: { text } });
  $("reply-send").disabled = false;
  if (!result.ok) {
    showError(result);
    return;
  }
  showError(null);
  $("reply-text").value = "";
  refreshDialog();
}

async function release() {
  if (!state.current) return;
  const result = await call(`/v1/handoffs/${state.current.ticket_id}/release`, { method: "POST" });
  if (!result.ok) showError(result);
  closeDialog();
  refreshQueue();
}

async function closeTicket(event) {
  event.preventDefault();
  if (!state.current) return;
  const outcome = $("outcome").value;
  const result = await call(`/v1/handoffs/${state.current.ticket_id}/close`, { method: "POST", body: { outcome } });
  if (!result.ok) {
    showError(result);
    return;
  }
  closeDialog();
  refreshQueue();
}

/* -- sign-in -------------------------------------------------------------------------------- */
function signIn(event) {
  event.preventDefault();
  state.name = $("operator-name").value.trim();
  state.key = $("operator-key").value.trim();
  sessionStorage.setItem("twoline.operatorName", state.name);
  sessionStorage.setItem("twoline.operatorKey", state.key);
  start();
}

function signOut(message) {
  sessionStorage.removeItem("twoline.operatorKey");
  state.key = "";
  clearTimeout(state.queueTimer);
  closeDialog();
  $("console").hidden = true;
  $("sign-in").hidden = false;
  $("whoami").hidden = true;
  $("sign-out").hidden = true;
  if (typeof message === "string") showError(message);
}

function start() {
  showError(null);
  $("sign-in").hidden = true;
  $("console").hidden = false;
  $("whoami").textContent = `Signed in as ${state.name}`;
  $("whoami").hidden = false;
  $("sign-out").hidden = false;
  refreshQueue();
}

function main() {
  $("sign-in").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", () => signOut());
  $("queue-filter").addEventListener("change", () => {
    state.rendered = null;
    refreshQueue();
  });
  $("reply-form").addEventListener("submit", sendReply);
  $("reply-text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) $("reply-form").requestSubmit();
  });
  $("release").addEventListener("click", release);
  $("close-form").addEventListener("submit", closeTicket);
  $("back-to-queue").addEventListener("click", closeDialog);
  $("operator-name").value = state.name;
  if (state.name && state.key) start();
  document.body.dataset.ready = "true";
}

main();
