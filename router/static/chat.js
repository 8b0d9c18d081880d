/* The chat page: one client's conversation with the assistant, and with an operator after a hand-off.
   Operator replies arrive by polling GET /v1/dialogs/{id}/messages?after=<last id> every 2 s, and only
   while the dialog is with an operator (see README: why polling rather than SSE). */
"use strict";

const TEXT = {
  en: {
    title: "Support chat", skip: "Skip to the message box", language: "Language", newChat: "New chat",
    connection: "Connection", clientKey: "Client API key", save: "Save", clientId: "Client id",
    conversation: "Conversation", typing: "The assistant is typing…", remove: "Remove",
    attach: "Attach a screenshot", yourMessage: "Your message", placeholder: "Type your question…",
    send: "Send", you: "You", bot: "Assistant", operator: "Support", like: "Helpful",
    dislike: "Not helpful", thanks: "Thank you for the feedback.", sources: "Sources",
    choices: "Suggested replies", handedOff: "Passed to our support team: a person will reply here.",
    operatorJoined: "A member of our support team joined the conversation.",
    closed: "The support team closed this conversation. Write again to start a new one.",
    backToBot: "You are chatting with the assistant again.",
    vocQuestion: "How satisfied are you with this conversation?", vocSend: "Send rating",
    vocLabels: ["1 – very unsatisfied", "2", "3", "4", "5 – very satisfied"],
    vocThanks: "Thank you for rating the conversation.", badKey: "The client API key was refused: check it under “Connection”.", needKey: "Enter the client API key under “Connection” to start.",
    badImage: "Attach a PNG or JPEG screenshot.", screenshot: "Your screenshot", keySaved: "Key saved.",
    failed: "The message could not be sent", notSent: "Not sent", welcome: "Hello! How can I help you today?",
    streamInterrupted: "The connection broke while the answer was coming; it will show here shortly.",
  },
  ru: {
    title: "Чат поддержки", skip: "Перейти к полю сообщения", language: "Язык", newChat: "Новый чат",
    connection: "Подключение", clientKey: "Ключ API клиента", save: "Сохранить", clientId: "Id клиента",
    conversation: "Переписка", typing: "Ассистент печатает…", remove: "Убрать",
    attach: "Приложить скриншот", yourMessage: "Ваше сообщение", placeholder: "Ваш вопрос…",
    send: "Отправить", you: "Вы", bot: "Ассистент", operator: "Поддержка", like: "Полезно",
    dislike: "Бесполезно", thanks: "Спасибо за отзыв.", sources: "Источники",
    choices: "Варианты ответа", handedOff: "Передано сотруднику поддержки: он ответит здесь.",
    operatorJoined: "К разговору подключился сотрудник поддержки.",
    closed: "Сотрудник поддержки завершил разговор. Напишите снова, чтобы начать новый.",
    backToBot: "Вы снова общаетесь с ассистентом.",
    vocQuestion: "Насколько вы довольны этим разговором?", vocSend: "Отправить оценку",
    vocLabels: ["1 – совсем не доволен", "2", "3", "4", "5 – очень доволен"],
    vocThanks: "Спасибо за оценку разговора.", badKey: "Ключ API клиента не принят: проверьте его в разделе «Подключение».", needKey: "Введите ключ API клиента в разделе «Подключение».",
    badImage: "Приложите скриншот в формате PNG или JPEG.", screenshot: "Ваш скриншот", keySaved: "Ключ сохранён.",
    failed: "Сообщение не отправлено", notSent: "Не отправлено", welcome: "Здравствуйте! Чем я могу помочь?",
    streamInterrupted: "Связь прервалась, пока приходил ответ; он скоро появится здесь.",
  },
};
const POLL_MS = 2000;
const MAX_IMAGE_BYTES = 10 * 1024 * 1024;

const state = {
  key: sessionStorage.getItem("twoline.clientKey") || "",
  clientId: localStorage.getItem("twoline.clientId") || randomId("web-"),
  language: localStorage.getItem("twoline.language") || (navigator.language || "en").slice(0, 2),
  dialogId: sessionStorage.getItem("twoline.dialogId"),
  lastId: 0,
  rendered: new Set(),
  sending: false,
  polling: null,
  ticketStatus: null,
  dialogStatus: null,
  image: null,
  awaitingReply: false, // a streamed answer broke off: poll until the stored reply shows
};
if (!TEXT[state.language]) state.language = "en";
localStorage.setItem("twoline.clientId", state.clientId);

const $ = (id) => document.getElementById(id);
const t = (name) => TEXT[state.language][name];

function applyLanguage() {
  document.documentElement.lang = state.language;
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-placeholder]")) {
    node.placeholder = t(node.dataset.i18nPlaceholder);
  }
  for (const node of document.querySelectorAll("[data-i18n-label]")) {
    node.setAttribute("aria-label", t(node.dataset.i18nLabel));
  }
  for (const node of document.querySelectorAll("[data-i18n-title]")) node.title = t(node.dataset.i18nTitle);
  for (const button of document.querySelectorAll(".lang-switch button")) {
    button.setAttribute("aria-pressed", String(button.dataset.lang === state.language));
  }
  document.title = t("title");
}

function showNotice(name) {
  const notice = $("notice");
  notice.textContent = t(name);
  notice.dataset.kind = name;
  notice.hidden = false;
}

/** A status line inside the conversation (hand-off, operator joined, closed): read out by aria-live. */
function logNotice(name) {
  $("log").append(el("li", { class: "log-notice", dataset: { kind: name } }, el("p", { dataset: { i18n: name } }, t(name))));
  scrollToEnd();
}

function askForKey(notice) {
  showNotice(notice);
  $("connection").open = true;
  $("api-key").focus();
}

function showError(message) {
  const box = $("error");
  box.textContent = message || "";
  box.hidden = !message;
}

function scrollToEnd() {
  const log = $("log");
  log.scrollTop = log.scrollHeight;
  window.scrollTo(0, document.body.scrollHeight);
}

/* -- rendering ------------------------------------------------------------------------------ */
function addMessage(role, text, { id = null, author = null, time = null, extra = [], i18nKey = null } = {}) {
  if (id !== null) {
    if (state.rendered.has(id)) return null;
    state.rendered.add(id);
    state.lastId = Math.max(state.lastId, id);
  }
  const whoKey = role === "client" ? "you" : role === "operator" ? "operator" : "bot";
  const who = role === "operator" && author ? author : t(whoKey);
  const translated = role === "operator" && author ? null : whoKey; // follows the language switch
  const item = el(
    "li",
    { class: `message ${role}`, dataset: { role, messageId: id ?? "" } },
    el(
      "p",
      { class: "meta" },
      el("span", { class: "who", dataset: translated ? { i18n: translated } : {} }, who),
      " ",
      el("time", {}, timeOf(time)),
    ),
    text ? el("p", { class: "text", dataset: i18nKey ? { i18n: i18nKey } : {} }, text) : null,
    extra,
  );
  $("log").append(item);
  scrollToEnd();
  return item;
}

function buttonsBlock(buttons) {
  if (!buttons || !buttons.length) return null;
  const group = el("div", { class: "quick-replies", role: "group", "aria-label": t("choices") });
  for (const button of buttons) {
    group.append(
      el(
        "button",
        {
          type: "button",
          class: "quick-reply",
          dataset: { payload: button.payload },
          onclick: () => {
            for (const other of group.querySelectorAll("button")) other.disabled = true;
            group.querySelector(`[data-payload="${CSS.escape(button.payload)}"]`).classList.add("chosen");
            send({ text: button.label, button: button.payload });
          },
        },
        button.label,
      ),
    );
  }
  return group;
}

function citationsBlock(citations) {
  if (!citations || !citations.length) return null;
  const list = el("ol", { class: "citations" });
  for (const citation of citations) {
    const title = citation.title || citation.url || `[${citation.index}]`;
    const label = `[${citation.index ?? list.children.length + 1}] ${title}`;
    list.append(el("li", {}, citation.url ? safeLink(citation.url, label) : label));
  }
  return el("div", { class: "sources" }, el("p", { class: "sources-title" }, t("sources")), list);
}

function reactionBlock(messageId) {
  if (!messageId) return null;
  const status = el("span", { class: "reaction-status", role: "status" });
  const make = (reaction) =>
    el(
      "button",
      {
        type: "button",
        class: `reaction ${reaction}`,
        "aria-pressed": "false",
        "aria-label": t(reaction),
        title: t(reaction),
        dataset: { reaction },
        onclick: async (event) => {
          const pressed = event.currentTarget; // currentTarget is gone after the await below
          const group = pressed.parentElement;
          for (const b of group.querySelectorAll("button")) b.disabled = true;
          const result = await apiCall("/v1/feedback", {
            method: "POST",
            key: state.key,
            body: { dialog_id: state.dialogId, message_id: messageId, reaction },
          });
          if (result.ok) {
            pressed.setAttribute("aria-pressed", "true");
            status.textContent = t("thanks");
          } else {
            for (const b of group.querySelectorAll("button")) b.disabled = false;
            showError(`${result.code}: ${result.message}`);
          }
        },
      },
      icon(reaction),
    );
  return el("div", { class: "reactions" }, make("like"), make("dislike"), status);
}

function vocForm() {
  if (!state.dialogId || document.querySelector(`.voc[data-dialog="${CSS.escape(state.dialogId)}"]`)) return;
  const dialogId = state.dialogId;
  const name = `voc-${dialogId}`;
  const options = t("vocLabels").map((label, i) =>
    el(
      "label",
      { class: "voc-option" },
      el("input", { type: "radio", name, value: String(i + 1), required: i === 0 }),
      el("span", {}, label),
    ),
  );
  const form = el(
    "form",
    { class: "voc", dataset: { dialog: dialogId } },
    el("fieldset", {}, el("legend", {}, t("vocQuestion")), el("div", { class: "voc-options" }, options)),
    el("button", { type: "submit" }, t("vocSend")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = form.querySelector("input:checked");
    if (!chosen) return;
    const result = await apiCall("/v1/feedback", {
      method: "POST",
      key: state.key,
      body: { dialog_id: dialogId, voc: Number(chosen.value) },
    });
    if (result.ok) form.replaceWith(el("p", { class: "voc-thanks", role: "status" }, t("vocThanks")));
    else showError(`${result.code}: ${result.message}`);
  });
  $("log").append(el("li", { class: "message system" }, form));
  scrollToEnd();
}

function renderBotReply(response) {
  const reply = response.reply;
  if (!reply) return;
  const kind = (response.decision || {}).kind;
  const rateable = kind === "answer" || kind === "second_line"; // not clarifying questions, not hand-offs
  addMessage("bot", reply.text, {
    id: response.reply_message_id,
    extra: [
      citationsBlock(reply.citations),
      buttonsBlock(reply.buttons),
      rateable ? reactionBlock(response.reply_message_id) : null,
    ],
  });
}

/* -- sending -------------------------------------------------------------------------------- */
async function send({ text = "", button = null } = {}) {
  if (state.sending) return;
  if (!state.key) {
    askForKey("needKey");
    return;
  }
  const image = button ? null : state.image;
  if (!text.trim() && !button && !image) return;
  if (state.dialogStatus === "closed") resetDialog(false);
  showError("");
  for (const old of document.querySelectorAll(".quick-reply")) old.disabled = true; // only the latest apply
  const bubble = addMessage("client", text, {
    extra: image ? [el("img", { class: "screenshot", src: image.dataUrl, alt: t("screenshot") })] : [],
  });
  const body = {
    client_id: state.clientId,
    dialog_id: state.dialogId || null,
    text,
    client_message_id: randomId("m-"),
    language: state.language,
  };
  if (button) body.button = button;
  if (image) body.image_base64 = image.base64;
  setSending(true);
  let result = await streamMessage(body);
  // Once more with the same client_message_id: a busy store, or a network error that may have come after
  // the server stored the message (it then answers the stored one instead of storing it twice).
  if (result.code === "store_unavailable" || result.code === "network_error") {
    await new Promise((resolve) => setTimeout(resolve, 1000 * (result.retryAfter || 1)));
    result = await streamMessage(body);
  }
  setSending(false);
  clearStreamedSentences();
  if (result.code === "stream_interrupted") {
    showError(result.message); // the message was accepted: it is stored and answered on the server
    return;
  }
  if (!result.ok) {
    if (result.status === 401) askForKey("badKey");
    bubble.classList.add("failed");
    bubble.append(el("p", { class: "failed-note", dataset: { i18n: "notSent" } }, t("notSent")));
    showError(`${t("failed")}: ${result.message || result.code} (${result.code})`);
    return;
  }
  if (image) clearImage();
  handleResponse(result.data);
}

/* -- the answer as a stream: second-line sentences show as the guardrails release them ------- */
/** POST /v1/messages/stream. Resolves like `apiCall`: `sentence` events are shown at once (in a bubble
 * the final reply replaces), the `message` event is the stored response, an `error` event or a JSON
 * error before the stream starts is a failure with its `code`. */
async function streamMessage(body) {
  const headers = { Accept: "text/event-stream", "Content-Type": "application/json" };
  headers.Authorization = `Bearer ${state.key}`;
  let response;
  try {
    response = await fetch("/v1/messages/stream", { method: "POST", headers, body: JSON.stringify(body) });
  } catch (error) {
    return { ok: false, status: 0, data: null, code: "network_error", message: String(error) };
  }
  const type = response.headers.get("Content-Type") || "";
  if (!response.ok || !type.startsWith("text/event-stream")) return jsonResult(response, false);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch (error) {
      break;
    }
    if (chunk.done) break;
    buffered += chunk.value;
    for (let end = buffered.indexOf("\n\n"); end >= 0; end = buffered.indexOf("\n\n")) {
      const event = parseServerEvent(buffered.slice(0, end));
      buffered = buffered.slice(end + 2);
      if (event.name === "accepted") rememberDialog(JSON.parse(event.data).dialog_id);
      if (event.name === "sentence") showStreamedSentence(JSON.parse(event.data).text);
      if (event.name === "message") return { ok: true, status: 200, data: JSON.parse(event.data) };
      if (event.name === "error") {
        const problem = JSON.parse(event.data);
        return { ok: false, status: 200, data: null, code: problem.code, message: problem.message };
      }
    }
  }
  // The turn still runs to its end on the server and is stored; polling shows the reply (a first
  // message's dialog id comes with the `accepted` event; a break before it leaves no dialog to poll).
  state.awaitingReply = true;
  startPolling();
  return { ok: false, status: 0, data: null, code: "stream_interrupted", message: t("streamInterrupted") };
}

function parseServerEvent(block) {
  const event = { name: "message", data: "" };
  for (const line of block.split("\n")) {
    if (line.startsWith("event: ")) event.name = line.slice(7);
    if (line.startsWith("data: ")) event.data += line.slice(6);
  }
  return event;
}

function showStreamedSentence(text) {
  let bubble = document.querySelector("li.message.bot.streaming");
  if (!bubble) {
    bubble = addMessage("bot", "", {});
    bubble.classList.add("streaming");
    bubble.append(el("p", { class: "text" }, ""));
  }
  const paragraph = bubble.querySelector("p.text");
  paragraph.textContent = paragraph.textContent ? `${paragraph.textContent} ${text}` : text;
  scrollToEnd();
}

function clearStreamedSentences() {
  for (const bubble of document.querySelectorAll("li.message.bot.streaming")) bubble.remove();
}

function rememberDialog(dialogId) {
  state.dialogId = dialogId;
  sessionStorage.setItem("twoline.dialogId", dialogId);
}

function handleResponse(response) {
  rememberDialog(response.dialog_id);
  state.rendered.add(response.message_id);
  state.lastId = Math.max(state.lastId, response.message_id);
  renderBotReply(response);
  const decision = response.decision || {};
  if (decision.kind === "handoff") {
    state.dialogStatus = "handed_off";
    state.ticketStatus = "open";
    logNotice("handedOff");
    startPolling();
  } else if (decision.reason === "with_operator") {
    startPolling();
  }
  if (response.feedback_form) vocForm();
}

function setSending(sending) {
  state.sending = sending;
  $("send").disabled = sending;
  $("typing").hidden = !sending;
  $("log").setAttribute("aria-busy", String(sending));
}

/* -- operator replies: polling -------------------------------------------------------------- */
function startPolling() {
  if (state.polling) return;
  state.polling = setTimeout(poll, POLL_MS);
}

function stopPolling() {
  clearTimeout(state.polling);
  state.polling = null;
}

async function poll() {
  state.polling = null;
  if (!state.dialogId) return;
  if (!state.sending) {
    const result = await apiCall(
      `/v1/dialogs/${encodeURIComponent(state.dialogId)}/messages?after=${state.lastId}`,
      { key: state.key },
    );
    if (result.ok) applyUpdate(result.data, false);
  }
  const waiting = state.dialogStatus === "handed_off" || state.awaitingReply;
  if (waiting && !state.polling) state.polling = setTimeout(poll, document.hidden ? 5 * POLL_MS : POLL_MS);
}

function applyUpdate(update, restoring) {
  for (const message of update.messages) {
    if (message.role === "client" && !restoring) {
      state.rendered.add(message.id); // our own message, already on screen
      state.lastId = Math.max(state.lastId, message.id);
      continue;
    }
    const isBot = message.role === "bot";
    if (isBot) state.awaitingReply = false;
    addMessage(message.role, message.text, {
      id: message.id,
      author: message.author,
      time: message.created_at,
      extra: isBot && !restoring ? [buttonsBlock(message.buttons)] : [],
    });
  }
  const previous = { status: state.dialogStatus, ticket: state.ticketStatus };
  state.dialogStatus = update.status;
  state.ticketStatus = update.ticket_status;
  if (update.status === "handed_off") {
    if (update.ticket_status === "claimed" && previous.ticket !== "claimed") logNotice("operatorJoined");
    else if (restoring && update.ticket_status === "open") logNotice("handedOff");
    startPolling();
  } else if (previous.status === "handed_off" && update.status === "closed") {
    logNotice("closed");
    vocForm();
  } else if (previous.status === "handed_off" && update.status === "open") {
    logNotice("backToBot");
  }
}

async function restoreDialog() {
  if (!state.dialogId || !state.key) return false;
  const result = await apiCall(`/v1/dialogs/${encodeURIComponent(state.dialogId)}/messages?after=0`, {
    key: state.key,
  });
  if (!result.ok) {
    resetDialog(false);
    return false;
  }
  applyUpdate(result.data, true);
  return result.data.messages.length > 0;
}

function resetDialog(greet = true) {
  stopPolling();
  state.dialogId = null;
  state.dialogStatus = null;
  state.ticketStatus = null;
  state.rendered.clear();
  state.lastId = 0;
  sessionStorage.removeItem("twoline.dialogId");
  if (greet) {
    $("log").replaceChildren();
    $("notice").hidden = true;
    addMessage("bot", t("welcome"), { i18nKey: "welcome" });
  }
}

/* -- image attachment ----------------------------------------------------------------------- */
function onImageChosen(event) {
  const file = event.target.files[0];
  if (!file) return;
  if (!["image/png", "image/jpeg"].includes(file.type) || file.size > MAX_IMAGE_BYTES) {
    showError(t("badImage"));
    event.target.value = "";
    return;
  }
  const reader = new FileReader();
  reader.onload = () => {
    const dataUrl = String(reader.result);
    state.image = { dataUrl, base64: dataUrl.slice(dataUrl.indexOf(",") + 1), name: file.name };
    $("attachment-preview").src = dataUrl;
    $("attachment-preview").alt = t("screenshot");
    $("attachment-name").textContent = file.name;
    $("attachment").hidden = false;
    showError("");
  };
  reader.readAsDataURL(file);
}

function clearImage() {
  state.image = null;
  $("image").value = "";
  $("attachment").hidden = true;
  $("attachment-preview").removeAttribute("src");
}

/* -- start-up ------------------------------------------------------------------------------- */
async function loadKey() {
  if (state.key) return;
  const result = await apiCall("/v1/demo-config");
  if (result.ok && result.data.client_api_key) {
    state.key = result.data.client_api_key;
    sessionStorage.setItem("twoline.clientKey", state.key);
  }
}

function wire() {
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("text").value;
    if (!text.trim() && !state.image) return;
    $("text").value = "";
    send({ text });
  });
  $("text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  });
  $("image").addEventListener("change", onImageChosen);
  $("attachment-remove").addEventListener("click", clearImage);
  $("new-dialog").addEventListener("click", () => resetDialog(true));
  for (const button of document.querySelectorAll(".lang-switch button")) {
    button.addEventListener("click", () => {
      state.language = button.dataset.lang;
      localStorage.setItem("twoline.language", state.language);
      applyLanguage();
    });
  }
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.key = $("api-key").value.trim();
    sessionStorage.setItem("twoline.clientKey", state.key);
    $("connection").open = false;
    showNotice("keySaved");
    setTimeout(() => {
      if ($("notice").dataset.kind === "keySaved") $("notice").hidden = true;
    }, 3000);
  });
}

async function main() {
  applyLanguage();
  wire();
  $("client-id").textContent = state.clientId;
  await loadKey();
  $("api-key").value = state.key;
  const restored = await restoreDialog();
  if (!restored) resetDialog(true);
  if (!state.key) askForKey("needKey");
  document.body.dataset.ready = "true";
}

main();
