"""Synthetic but realistic client screenshots with their ground truth, for the OCR evaluation.

Three kinds of screen a client sends to a bank's chat: a **bank SMS** (a phone's message bubble),
a **transaction list** from the app, an **app error dialog**. Each is drawn with Pillow from a
template whose topic is one of the bank's intents, with varied fonts (DejaVu / Liberation, sans,
serif, condensed), sizes, light or dark theme, then degraded like a real screenshot: downscaled,
Gaussian noise, slight blur, JPEG artefacts. `render(seed)` gives the image, the exact text drawn
(line by line, top to bottom) and the topic.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype/liberation"))
FONT_NAMES = (
    "DejaVuSans.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSansCondensed.ttf",
    "LiberationSans-Regular.ttf",
    "LiberationSerif-Regular.ttf",
    "LiberationSansNarrow-Regular.ttf",
)
MERCHANTS = ("TESCO STORES", "AMAZON MKTPLACE", "UBER TRIP", "STARBUCKS", "SHELL 4471", "APPLE.COM/BILL")
NAMES = ("Anna Smith", "John Carter", "Maria Lopez", "Tom Baker")

SMS = {
    "declined_card_payment": "Demo Bank: Your card ending {last4} was declined at {merchant} for {amount}. "
    "Check your balance in the app.",
    "card_payment_not_recognised": "Demo Bank: A payment of {amount} to {merchant} was made with your card "
    "ending {last4}. Not you? Reply NO.",
    "pin_blocked": "Demo Bank: Your PIN has been blocked after 3 incorrect attempts. "
    "Unblock your PIN in the app.",
    "top_up_failed": "Demo Bank: Your top-up of {amount} failed and your balance was not topped up.",
    "card_arrival": "Demo Bank: Your new card was sent on {date}. It should arrive within 5 working days.",
    "cash_withdrawal_charge": "Demo Bank: You withdrew {amount} at an ATM. A cash withdrawal fee of 2.00 "
    "was charged.",
}
DIALOGS = {
    "failed_transfer": (
        "Transfer failed",
        "We couldn't complete your transfer of {amount} to {name}. Please try again later.",
    ),
    "unable_to_verify_identity": (
        "Verification failed",
        "We could not verify your identity. Please upload a clearer photo of your ID document.",
    ),
    "top_up_failed": (
        "Top up failed",
        "Your top-up of {amount} could not be completed. Your card was declined by the issuer.",
    ),
    "beneficiary_not_allowed": (
        "Payee not allowed",
        "You can't send money to this beneficiary. The recipient is not allowed.",
    ),
    "contactless_not_working": (
        "Contactless unavailable",
        "Contactless payments are not working on this card. Insert your card and enter your PIN.",
    ),
    "passcode_forgotten": (
        "Wrong passcode",
        "The passcode you entered is incorrect. 2 attempts left. Forgot your passcode?",
    ),
}
LISTS = {
    "pending_card_payment": ("Pending", "Card payment"),
    "declined_card_payment": ("Declined", "Card payment"),
    "top_up_reverted": ("Reverted", "Top up"),
    "cash_withdrawal_charge": ("Fee", "Cash withdrawal fee"),
}
KINDS = ("sms", "dialog", "list")


@dataclass(frozen=True)
class Screenshot:
    image: Image.Image
    lines: list[str]
    """The text drawn, line by line, top to bottom."""
    topic: str
    kind: str
    font: str

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def jpeg_or_png_bytes(self) -> bytes:
        buffer = io.BytesIO()
        self.image.save(buffer, format="PNG")
        return buffer.getvalue()


def available_fonts() -> list[Path]:
    fonts = [d / n for d in FONT_DIRS for n in FONT_NAMES if (d / n).is_file()]
    if not fonts:
        raise FileNotFoundError("no DejaVu / Liberation fonts: install fonts-dejavu-core fonts-liberation")
    return fonts


def render(seed: int) -> Screenshot:
    rng = random.Random(seed)
    kind = KINDS[seed % len(KINDS)]
    font_path = rng.choice(available_fonts())
    slots = _slots(rng)
    if kind == "sms":
        topic = rng.choice(sorted(SMS))
        image, lines = _sms(rng, font_path, SMS[topic].format(**slots))
    elif kind == "dialog":
        topic = rng.choice(sorted(DIALOGS))
        title, body = DIALOGS[topic]
        image, lines = _dialog(rng, font_path, title, body.format(**slots))
    else:
        topic = rng.choice(sorted(LISTS))
        image, lines = _transaction_list(rng, font_path, *LISTS[topic])
    return Screenshot(_degrade(rng, image), lines, topic, kind, font_path.name)


def _slots(rng: random.Random) -> dict[str, str]:
    return {
        "last4": f"{rng.randint(1000, 9999)}",
        "merchant": rng.choice(MERCHANTS),
        "amount": f"£{rng.randint(3, 480)}.{rng.randint(0, 99):02d}",
        "name": rng.choice(NAMES),
        "date": f"{rng.randint(1, 28)} {rng.choice(['Mar', 'Apr', 'May', 'Jun'])}",
    }


def _theme(rng: random.Random) -> tuple[str, str, str]:
    """(background, text, panel) colours: light or dark mode."""
    if rng.random() < 0.3:
        return "#111418", "#f2f2f2", "#2a2e35"
    return "#ffffff", "#1b1b1b", rng.choice(["#e9e9eb", "#dfe8f5", "#eef3ea"])


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines, current = [], ""
    for word in text.split():
        trial = f"{current} {word}".strip()
        if draw.textlength(trial, font=font) <= width or not current:
            current = trial
        else:
            lines.append(current)
            current = word
    return [*lines, current] if current else lines


def _draw_lines(draw, lines, font, x, y, fill, spacing) -> int:
    for line in lines:
        draw.text((x, y), line, font=font, fill=fill)
        y += spacing
    return y


def _sms(rng: random.Random, font_path: Path, message: str) -> tuple[Image.Image, list[str]]:
    width, size = 720, rng.randint(24, 32)
    background, ink, panel = _theme(rng)
    font, small = ImageFont.truetype(str(font_path), size), ImageFont.truetype(str(font_path), size - 6)
    probe = ImageDraw.Draw(Image.new("RGB", (10, 10)))
    body = _wrap(probe, message, font, width - 140)
    spacing = int(size * 1.35)
    height = 200 + spacing * len(body) + 120
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    header, stamp = "DemoBank", f"Today {rng.randint(7, 22)}:{rng.randint(0, 59):02d}"
    draw.text((width // 2 - draw.textlength(header, font=font) // 2, 40), header, font=font, fill=ink)
    draw.text((width // 2 - draw.textlength(stamp, font=small) // 2, 110), stamp, font=small, fill="#8a8a8a")
    draw.rounded_rectangle((40, 160, width - 60, 180 + spacing * len(body) + 30), radius=28, fill=panel)
    _draw_lines(draw, body, font, 70, 190, ink, spacing)
    return image, [header, stamp, *body]


def _dialog(rng: random.Random, font_path: Path, title: str, message: str) -> tuple[Image.Image, list[str]]:
    width, size = 760, rng.randint(22, 30)
    background, ink, _ = _theme(rng)
    font = ImageFont.truetype(str(font_path), size)
    bold = ImageFont.truetype(str(font_path), size + 6)
    probe = ImageDraw.Draw(Image.new("RGB", (10, 10)))
    body = _wrap(probe, message, font, width - 220)
    spacing = int(size * 1.4)
    box_height = 120 + spacing * len(body) + 110
    height = box_height + 260
    image = Image.new("RGB", (width, height), "#6b6b6b" if background == "#ffffff" else "#050505")
    draw = ImageDraw.Draw(image)
    top = 130
    draw.rounded_rectangle((60, top, width - 60, top + box_height), radius=22, fill=background)
    draw.text((width // 2 - draw.textlength(title, font=bold) // 2, top + 35), title, font=bold, fill=ink)
    y = _draw_lines(draw, body, font, 110, top + 105, ink, spacing)
    button = "OK"
    draw.text(
        (width // 2 - draw.textlength(button, font=bold) // 2, y + 30), button, font=bold, fill="#1a73e8"
    )
    return image, [title, *body, button]


def _transaction_list(
    rng: random.Random, font_path: Path, status: str, what: str
) -> tuple[Image.Image, list[str]]:
    width, size = 760, rng.randint(22, 28)
    background, ink, _ = _theme(rng)
    font, small = ImageFont.truetype(str(font_path), size), ImageFont.truetype(str(font_path), size - 4)
    rows = []
    for index in range(rng.randint(3, 5)):
        merchant = rng.choice(MERCHANTS) if what == "Card payment" else what
        amount = f"-£{rng.randint(2, 250)}.{rng.randint(0, 99):02d}"
        label = status if index == 1 else "Completed"
        rows.append((merchant, amount, f"{rng.randint(1, 28)} May · {label}"))
    spacing = int(size * 3.2)
    image = Image.new("RGB", (width, 150 + spacing * len(rows)), background)
    draw = ImageDraw.Draw(image)
    draw.text((40, 40), "Transactions", font=ImageFont.truetype(str(font_path), size + 10), fill=ink)
    lines = ["Transactions"]
    y = 130
    for merchant, amount, detail in rows:
        draw.text((40, y), merchant, font=font, fill=ink)
        draw.text((width - 40 - draw.textlength(amount, font=font), y), amount, font=font, fill=ink)
        colour = "#c62828" if status in detail else "#8a8a8a"
        draw.text((40, y + int(size * 1.3)), detail, font=small, fill=colour)
        lines += [f"{merchant} {amount}", detail]
        y += spacing
    return image, lines


def _degrade(rng: random.Random, image: Image.Image) -> Image.Image:
    """What a screenshot goes through: rescaling, noise, blur, JPEG compression."""
    scale = rng.uniform(0.7, 1.0)
    image = image.resize((int(image.width * scale), int(image.height * scale)), Image.Resampling.BILINEAR)
    pixels = np.asarray(image).astype(np.float32)
    pixels += np.random.default_rng(rng.randint(0, 2**31)).normal(0, rng.uniform(2, 9), pixels.shape)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    if rng.random() < 0.4:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.8)))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=rng.randint(35, 85))
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
