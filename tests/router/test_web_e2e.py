"""The chat page and the operator console in a real headless Chromium (Debian's `chromium` and
`chromium-driver`, nothing downloaded) against a real uvicorn server on the test artifacts.

Scenario A: a client asks, gets a clarifying question, clicks a button, gets the answer, likes it.
Scenario B: a client asks for a human (in Russian), an operator claims the ticket in the console and
replies, the client sees the reply; the operator closes it and the client rates the dialog.
Screenshots at phone and desktop widths go to reports/screenshots/ (git-ignored).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from router.settings import DEMO_CLIENT_KEY, DEMO_OPERATOR_KEY
from tests.browser import headless_chromium
from tests.conftest import REPO
from tests.router.test_server_e2e import free_port, server_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SCREENSHOTS = REPO / "reports" / "screenshots"
PHONE = (390, 844)
DESKTOP = (1280, 900)
WAIT_S = 20
CLARIFYING_CANDIDATES = ("card", "my card", "transfer", "top up", "I have a problem with my card", "account")


@contextmanager
def running_server(artifacts_dir: Path, database: Path, client_key: str, operator_key: str) -> Iterator[str]:
    """`twoline serve` on a free port with these keys; its base URL once /readyz answers."""
    env = server_env(artifacts_dir, database) | {
        "TWOLINE_CLIENT_API_KEY": client_key,
        "TWOLINE_OPERATOR_API_KEY": operator_key,
    }
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "router.cli", "serve", "--no-train-missing", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail("the server exited during start-up")
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail("server did not become ready in 120 s")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def web_server(artifacts_dir, tmp_path_factory) -> Iterator[str]:
    """The service on the demo keys, so that the chat page gets its key from /v1/demo-config."""
    database = tmp_path_factory.mktemp("web") / "web.db"
    with running_server(artifacts_dir, database, DEMO_CLIENT_KEY, DEMO_OPERATOR_KEY) as base:
        yield base


@pytest.fixture(scope="module")
def browsers() -> Iterator:
    """A factory of headless Chromium sessions (tests/browser.py), all closed at the end."""
    with ExitStack() as stack:

        def open_browser(size: tuple[int, int]):
            driver = stack.enter_context(headless_chromium(*size))
            driver.set_window_size(*size)
            return driver

        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        yield open_browser


def wait_for(driver, css: str, *, count: int = 1, visible: bool = True):
    """The elements matching `css` once at least `count` of them are there (and displayed)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def found(d):
        elements = d.find_elements(By.CSS_SELECTOR, css)
        if visible:
            elements = [e for e in elements if e.is_displayed()]
        return elements if len(elements) >= count else False

    return WebDriverWait(driver, WAIT_S).until(found, message=f"waiting for {css!r} x{count}")


def shoot(driver, name: str, size: tuple[int, int]) -> None:
    """Save the screen at the driver's current size and at `size`, then restore the size."""
    current = driver.get_window_size()
    driver.save_screenshot(str(SCREENSHOTS / f"{name}-{current['width']}.png"))
    driver.set_window_size(*size)
    time.sleep(0.3)
    driver.save_screenshot(str(SCREENSHOTS / f"{name}-{size[0]}.png"))
    driver.set_window_size(current["width"], current["height"])


def open_chat(browsers, base: str, size=PHONE):
    driver = browsers(size)
    driver.get(base + "/")
    wait_for(driver, "body[data-ready='true']")
    wait_for(driver, "li.message.bot")  # the greeting
    return driver


def type_message(driver, text: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    box = driver.find_element(By.ID, "text")
    box.send_keys(text)
    box.send_keys(Keys.ENTER)  # Enter sends, as on a phone keyboard


def clarifying_question(base: str) -> tuple[str, str]:
    """A first message that this model answers with a clarifying question, and a button of it that
    leads to a scripted answer (asked over HTTP as another client, so the browser sees the same)."""
    headers = {"Authorization": f"Bearer {DEMO_CLIENT_KEY}"}
    with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
        for i, text in enumerate(CLARIFYING_CANDIDATES):
            body = client.post("/v1/messages", json={"client_id": f"probe-{i}", "text": text}).json()
            if body["decision"]["kind"] != "clarify":
                continue
            for button in body["reply"]["buttons"]:
                clicked = client.post(
                    "/v1/messages",
                    json={
                        "client_id": f"probe-{i}",
                        "dialog_id": body["dialog_id"],
                        "button": button["payload"],
                    },
                ).json()
                if clicked["decision"]["kind"] == "answer":
                    return text, button["payload"]
    pytest.fail(f"none of {CLARIFYING_CANDIDATES} gets a clarifying question from the test model")


def test_scenario_a_clarify_click_answer_like(web_server, browsers):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    text, payload = clarifying_question(web_server)
    started = time.monotonic()
    chat = open_chat(browsers, web_server)
    type_message(chat, text)
    question = wait_for(chat, "li.message.bot .quick-replies", count=1)[0]
    shoot(chat, "a1-clarifying-question", DESKTOP)
    button = question.find_element(By.CSS_SELECTOR, f"button[data-payload='{payload}']")
    label = button.text
    button.send_keys(Keys.ENTER)  # keyboard only: the buttons are real <button>s
    # The click is sent as the client's message (its label), and the answer comes with like/dislike.
    wait_for(chat, "li.message.client", count=2)
    assert chat.find_elements(By.CSS_SELECTOR, "li.message.client .text")[-1].text == label
    answer = wait_for(chat, "li.message.bot .reactions")[-1].find_element(By.XPATH, "..")
    assert all(not b.is_enabled() for b in question.find_elements(By.CSS_SELECTOR, "button")), "one choice"
    like = answer.find_element(By.CSS_SELECTOR, "button.reaction.like")
    assert like.get_attribute("aria-label") == "Helpful"
    like.send_keys(Keys.SPACE)
    wait_for(chat, "button.reaction.like[aria-pressed='true']")
    assert "Thank you" in answer.find_element(By.CSS_SELECTOR, ".reaction-status").text
    shoot(chat, "a2-answer-liked", DESKTOP)
    elapsed = time.monotonic() - started
    # The like reached the store.
    metrics = httpx.get(f"{web_server}/metrics").text
    assert 'twoline_reactions{kind="like"} 1.0' in metrics
    print(f"scenario A in the browser: {elapsed:.1f} s")


def test_scenario_b_handoff_operator_reply_close_and_rating(web_server, browsers):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    first_question, _ = clarifying_question(web_server)
    started = time.monotonic()
    chat = open_chat(browsers, web_server)
    type_message(chat, first_question)  # something the classifier sees, for the ticket's summary
    wait_for(chat, "li.message.bot .quick-replies")
    chat.find_element(By.CSS_SELECTOR, ".lang-switch button[data-lang='ru']").click()
    assert chat.find_element(By.ID, "text").get_attribute("placeholder") == "Ваш вопрос…"
    greeting = chat.find_elements(By.CSS_SELECTOR, "li.message.bot .text")[0]
    assert greeting.text == "Здравствуйте! Чем я могу помочь?", "the page follows the switch"
    client_id = chat.find_element(By.ID, "client-id").get_attribute("textContent")  # in a closed <details>
    type_message(chat, "Позовите оператора, пожалуйста")
    wait_for(chat, "li.log-notice[data-kind='handedOff']")
    assert "сотрудник" in chat.find_elements(By.CSS_SELECTOR, "li.message.bot .text")[-1].text
    shoot(chat, "b1-client-handed-off", DESKTOP)

    console = browsers(DESKTOP)
    console.get(web_server + "/operator")
    wait_for(console, "body[data-ready='true']")
    console.find_element(By.ID, "operator-name").send_keys("Анна Петрова")  # sent percent-encoded
    console.find_element(By.ID, "operator-key").send_keys(DEMO_OPERATOR_KEY)
    console.find_element(By.CSS_SELECTOR, "#sign-in button[type='submit']").click()
    card = next(
        c
        for c in wait_for(console, "li.ticket")
        if c.find_element(By.CSS_SELECTOR, ".client").text == client_id
    )
    ticket = card.get_attribute("data-ticket-id")
    assert "Client asked for a person" in card.text and "Позовите оператора" in card.text
    assert "Intents" in card.text, "the summary lists the intents seen in the dialog"
    shoot(console, "b2-operator-queue", PHONE)
    console.find_element(By.CSS_SELECTOR, f"li.ticket[data-ticket-id='{ticket}'] button.claim").click()
    wait_for(console, "#dialog-log li.message.client")
    console.find_element(By.ID, "reply-text").send_keys("Здравствуйте! Меня зовут Анна, чем помочь?")
    console.find_element(By.ID, "reply-send").click()
    replied = time.monotonic()

    # The client's page shows that an operator joined, and the reply, without reloading.
    reply = wait_for(chat, "li.message.operator")[0]
    seen_after = time.monotonic() - replied
    assert "Меня зовут Анна" in reply.text and "Анна Петрова" in reply.text
    wait_for(chat, "li.log-notice[data-kind='operatorJoined']")
    wait_for(console, "#dialog-log li.message.operator")
    shoot(console, "b3-operator-dialog", PHONE)
    type_message(chat, "Карта заблокирована, помогите")
    wait_for(console, "#dialog-log li.message.client", count=2)
    shoot(chat, "b4-client-sees-operator", DESKTOP)

    Select(console.find_element(By.ID, "outcome")).select_by_value("resolved")
    console.find_element(By.ID, "close").click()
    wait_for(chat, "li.log-notice[data-kind='closed']")
    form = wait_for(chat, "form.voc")[0]
    form.find_element(By.CSS_SELECTOR, "input[value='5']").find_element(By.XPATH, "..").click()
    form.find_element(By.CSS_SELECTOR, "button[type='submit']").click()
    wait_for(chat, ".voc-thanks")
    shoot(chat, "b5-client-rated", DESKTOP)
    metrics = httpx.get(f"{web_server}/metrics").text
    assert 'twoline_handoff_tickets{outcome="resolved",status="closed"} 1.0' in metrics
    assert 'twoline_voc_mean{handled_by="operator"} 5.0' in metrics
    print(
        f"scenario B: {time.monotonic() - started:.1f} s; the operator's reply on the client's screen "
        f"{seen_after:.1f} s after the click (the page polls every 2 s)"
    )


def test_scenario_c_screenshot_upload(web_server, browsers, tmp_path):
    """A screenshot is attached and sent as `image_base64`; before the OCR gate is merged the server
    refuses the field and the page says so, after it the assistant answers."""
    from PIL import Image, ImageDraw
    from selenium.webdriver.common.by import By

    picture = tmp_path / "declined.png"
    image = Image.new("RGB", (360, 120), "white")
    ImageDraw.Draw(image).text((12, 40), "Payment declined: error 51", fill="black")
    image.save(picture)
    schema = httpx.get(f"{web_server}/openapi.json").json()["components"]["schemas"]["MessageRequest"]
    server_takes_images = "image_base64" in schema["properties"]

    chat = open_chat(browsers, web_server)
    chat.find_element(By.ID, "image").send_keys(str(picture))
    wait_for(chat, "#attachment img[src^='data:image/png']")
    type_message(chat, "what does this mean?")
    wait_for(chat, "li.message.client img.screenshot")
    if server_takes_images:
        wait_for(chat, "li.message.bot", count=2)
        assert chat.find_element(By.ID, "attachment").is_displayed() is False
    else:
        error = wait_for(chat, "#error")[0]
        assert "invalid_request" in error.text and "image_base64" in error.text
        wait_for(chat, "li.message.client.failed")
    shoot(chat, "c1-screenshot-sent", DESKTOP)


def test_fields_other_gates_add_are_rendered(web_server, browsers):
    """`reply.citations` (second line) and `feedback_form` (end-of-dialog gate) in the documented shape
    (coord API contract): links only for http(s) URLs, the VOC form posts a real rating."""
    from selenium.webdriver.common.by import By

    question, _ = clarifying_question(web_server)  # a dialog the bot keeps (no hand-off)
    chat = open_chat(browsers, web_server)
    type_message(chat, question)
    wait_for(chat, "li.message.bot", count=2)
    chat.execute_script(
        """handleResponse({
             dialog_id: state.dialogId, message_id: state.lastId, reply_message_id: null,
             decision: {kind: "second_line", reason: "grounded_answer"}, feedback_form: true,
             reply: {text: "Your deposit is insured up to the limit [1].", buttons: [],
                     citations: [{index: 1, title: "Deposit insurance", url: "https://example.org/fdic"},
                                 {index: 2, title: "Sneaky", url: "javascript:alert(1)"}]}});"""
    )
    sources = wait_for(chat, ".sources")[-1]
    links = sources.find_elements(By.CSS_SELECTOR, "a")
    assert [(a.text, a.get_attribute("href")) for a in links] == [
        ("[1] Deposit insurance", "https://example.org/fdic")
    ]
    assert "[2] Sneaky" in sources.text, "an unsafe URL is shown as text, not as a link"
    assert links[0].get_attribute("rel") == "noopener noreferrer"
    form = wait_for(chat, "form.voc")[0]
    assert (
        form.find_element(By.CSS_SELECTOR, "legend").text == "How satisfied are you with this conversation?"
    )
    form.find_element(By.CSS_SELECTOR, "input[value='4']").find_element(By.XPATH, "..").click()
    form.find_element(By.CSS_SELECTOR, "button[type='submit']").click()
    wait_for(chat, ".voc-thanks")
    shoot(chat, "d1-citations-and-voc-form", DESKTOP)
    assert 'twoline_voc_responses{handled_by="bot"} 1.0' in httpx.get(f"{web_server}/metrics").text


STREAM_IN_THE_PAGE = """
const realFetch = window.fetch;
const send = (controller, name, data) =>
  controller.enqueue(new TextEncoder().encode(`event: ${name}\\ndata: ${JSON.stringify(data)}\\n\\n`));
let finish;
window.finishStream = new Promise((resolve) => { finish = resolve; });
window.sendFinal = () => finish();
window.fetch = async (path, init) => {
  if (!String(path).endsWith("/v1/messages/stream")) return realFetch(path, init);
  window.fetch = realFetch;
  const body = new ReadableStream({
    async start(controller) {
      send(controller, "sentence", { text: "Deposits are insured [1]." });
      send(controller, "sentence", { text: "The limit is per bank [1]." });
      await window.finishStream;
      send(controller, "message", {
        dialog_id: state.dialogId, message_id: state.lastId + 1, reply_message_id: state.lastId + 2,
        decision: { kind: "second_line", reason: "grounded_answer" },
        reply: { text: "Deposits are insured [1]. The limit is per bank [1].", buttons: [],
                 citations: [{ index: 1, title: "Deposit insurance", url: "https://example.org/fdic" }] },
      });
      controller.close();
    },
  });
  return new Response(body, { status: 200, headers: { "Content-Type": "text/event-stream" } });
};
"""


def test_streamed_sentences_show_until_the_stored_reply_replaces_them(web_server, browsers):
    """The page reads POST /v1/messages/stream (every scenario above goes through it with a real server);
    here the second line's `sentence` events come from a stream in the page, in the endpoint's format."""
    from selenium.webdriver.common.by import By

    chat = open_chat(browsers, web_server)
    chat.execute_script(STREAM_IN_THE_PAGE)
    type_message(chat, "Is my deposit insured?")
    streaming = wait_for(chat, "li.message.bot.streaming")[0]
    assert (
        streaming.find_element(By.CSS_SELECTOR, ".text").text
        == "Deposits are insured [1]. The limit is per bank [1]."
    )
    chat.execute_script("window.sendFinal()")
    wait_for(chat, "li.message.bot .sources")
    assert chat.find_elements(By.CSS_SELECTOR, "li.message.bot.streaming") == []
    final = chat.find_elements(By.CSS_SELECTOR, "li.message.bot")[-1]
    assert (
        final.find_element(By.CSS_SELECTOR, ".text").text
        == "Deposits are insured [1]. The limit is per bank [1]."
    )


BREAK_THE_NEXT_STREAM = """
const realFetch = window.fetch;
window.fetch = async (path, init) => {
  if (!String(path).endsWith("/v1/messages/stream")) return realFetch(path, init);
  window.fetch = realFetch;
  const real = await realFetch(path, init);  // the server has the message and answers it
  await real.body.cancel();  // ... but the connection drops before the answer arrives
  const body = new ReadableStream({ start(controller) { controller.error(new TypeError("network lost")); } });
  return new Response(body, { status: 200, headers: { "Content-Type": "text/event-stream" } });
};
"""


def test_a_broken_stream_loses_nothing_the_page_polls_the_stored_reply(web_server, browsers):
    from selenium.webdriver.common.by import By

    chat = open_chat(browsers, web_server)
    type_message(chat, "hello")
    wait_for(chat, "li.message.bot", count=2)  # greeting + reply: the page knows its dialog
    chat.execute_script(BREAK_THE_NEXT_STREAM)
    type_message(chat, "my card has not arrived yet")
    error = wait_for(chat, "#error")[0]
    assert "connection broke" in error.text
    wait_for(chat, "li.message.bot", count=3)  # the stored reply, fetched by polling
    assert chat.find_elements(By.CSS_SELECTOR, "li.message.client.failed") == []


BREAK_THE_NEXT_STREAM_AFTER_ACCEPTED = """
const realFetch = window.fetch;
window.fetch = async (path, init) => {
  if (!String(path).endsWith("/v1/messages/stream")) return realFetch(path, init);
  window.fetch = realFetch;
  const reader = (await realFetch(path, init)).body.getReader();
  const decoder = new TextDecoder();
  let received = "";
  while (!received.includes("\\n\\n")) {
    const chunk = await reader.read();
    if (chunk.done) break;
    received += decoder.decode(chunk.value);
  }
  await reader.cancel();  // the `accepted` event came; then the connection drops
  const first = new TextEncoder().encode(received.slice(0, received.indexOf("\\n\\n") + 2));
  let sent = false;
  const body = new ReadableStream({
    pull(controller) {
      if (sent) controller.error(new TypeError("network lost"));
      else { sent = true; controller.enqueue(first); }
    },
  });
  return new Response(body, { status: 200, headers: { "Content-Type": "text/event-stream" } });
};
"""


def test_a_first_message_whose_stream_breaks_is_answered_by_polling(web_server, browsers):
    """A new dialog's id comes with the `accepted` event, so the page can poll it after a break."""
    from selenium.webdriver.common.by import By

    chat = open_chat(browsers, web_server)
    chat.execute_script(BREAK_THE_NEXT_STREAM_AFTER_ACCEPTED)
    type_message(chat, "my card has not arrived yet")
    assert "connection broke" in wait_for(chat, "#error")[0].text
    wait_for(chat, "li.message.bot", count=2)  # greeting + the stored reply, fetched by polling
    assert chat.find_elements(By.CSS_SELECTOR, "li.message.client.failed") == []
    assert chat.execute_script("return sessionStorage.getItem('twoline.dialogId')")


def test_console_renders_every_summary_field(web_server, browsers):
    """OCR text, risk score and fields the gates add later (shown as they come) in a ticket's card."""
    from selenium.webdriver.common.by import By

    console = browsers(DESKTOP)
    console.get(web_server + "/operator")
    wait_for(console, "body[data-ready='true']")
    console.find_element(By.ID, "operator-name").send_keys("Boris")
    console.find_element(By.ID, "operator-key").send_keys(DEMO_OPERATOR_KEY)
    console.find_element(By.CSS_SELECTOR, "#sign-in button[type='submit']").click()
    wait_for(console, "#tickets li")
    console.execute_script(
        """clearTimeout(state.queueTimer);
           state.tickets = [{ticket_id: 9001, dialog_id: "d", client_id: "client-42", reason: "high_voc_risk",
             status: "open", priority: 54, created_at: new Date().toISOString(), claimed_by: null,
             summary: {reason: "high_voc_risk", risk_score: 0.81, ocr_text: "Payment declined: error 51",
                       intents: [{intent: "declined_card_payment", confidence: 0.62}],
                       entities: [{kind: "amount", value: "25.40 GBP"}], sentiment: "negative",
                       last_messages: [{role: "client", text: "", ocr_text: "Payment declined: error 51"}],
                       turns: 1}}];
           renderQueue();"""
    )
    card = wait_for(console, "li.ticket[data-ticket-id='9001']")[0]
    text = card.text
    for expected in (
        "High VOC risk",
        "declined_card_payment 62%",
        "amount: 25.40 GBP",
        "Payment declined: error 51",
        "sentiment",
        "negative",
        "urgent",
    ):
        assert expected in text, expected
    assert card.find_element(By.CSS_SELECTOR, ".risk.high").text == "0.81"
    shoot(console, "e1-console-summary", PHONE)


def test_outside_a_demo_the_page_asks_for_the_key(artifacts_dir, tmp_path, browsers):
    """With real keys /v1/demo-config is 404: the page asks for the key, says when it is refused, and
    works once the right one is entered."""
    from selenium.webdriver.common.by import By

    with running_server(artifacts_dir, tmp_path / "keys.db", "bank-client-key", "bank-operator-key") as base:
        chat = browsers(PHONE)
        chat.get(base + "/")
        wait_for(chat, "body[data-ready='true']")
        assert wait_for(chat, "#notice")[0].text.startswith("Enter the client API key")
        key = chat.find_element(By.ID, "api-key")
        assert key.is_displayed() and key.get_attribute("type") == "password"
        shoot(chat, "f1-key-asked", DESKTOP)
        key.send_keys("a-wrong-key\n")
        type_message(chat, "hello")
        wait_for(chat, "li.message.client.failed")
        assert "refused" in chat.find_element(By.ID, "notice").text
        key = chat.find_element(By.ID, "api-key")
        key.clear()
        key.send_keys("bank-client-key\n")
        type_message(chat, "I want to talk to a human")
        wait_for(chat, "li.log-notice[data-kind='handedOff']")
