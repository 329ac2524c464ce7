"""How many tokens a request may use, estimated before it is sent, for the
reservation a hard budget takes. No Odoo in here.

Text counts about 4 characters a token. Images count the way OpenAI bills
them (its vision guide): tile models pay a base plus a price per 512 px tile
of the image scaled to fit 2048 px and then 768 px on its short side
(``detail: low``: the base only); patch models pay 32 px patches, at most
1,536, times a model multiplier. An image whose size cannot be read (a URL)
counts as the largest the model bills. A PDF counts, per page, its text and
the largest page image, since OpenAI sends the model both."""

import base64
import binascii
import io
import json
import math
import re

CHARS_PER_TOKEN = 4
DEFAULT_OUTPUT_TOKENS = 1000  # reserved for a call that sets no max tokens
# OpenAI, Anthropic (system) and Gemini (contents, systemInstruction) prompts
PROMPT_KEYS = (
    "messages", "input", "prompt", "instructions", "tools", "functions", "system",
    "contents", "systemInstruction",
)  # fmt: skip

# (model name prefix, base tokens, tokens per tile): longest prefix first
TILE_MODELS = (
    ("gpt-4o-mini", 2833, 5667),
    ("computer-use-preview", 65, 129),
    ("gpt-5", 70, 140),
    ("o1", 75, 150),
    ("o3", 75, 150),
)
DEFAULT_TILE = (85, 170)  # gpt-4o, gpt-4.1, gpt-4.5 and the others
# (model name prefix, multiplier) of the models billed by 32 px patches
PATCH_MODELS = (
    ("gpt-4.1-mini", 1.62),
    ("gpt-4.1-nano", 2.46),
    ("gpt-5-mini", 1.62),
    ("gpt-5-nano", 2.46),
    ("o4-mini", 1.72),
)
MAX_PATCHES = 1536
MAX_TILES = 8  # 768 x 2048 once scaled: 2 x 4 tiles of 512 px
DATA_URL = re.compile(r"^data:([\w.+-]+/[\w.+-]+)?(;[\w=.+-]+)*;base64,", re.IGNORECASE)


def _prefixed(model, table):
    for prefix, *values in table:
        if model.startswith(prefix):
            return values
    return None


def image_tokens(model, width=None, height=None, detail="auto"):
    """Tokens OpenAI bills for one image; unknown size: the most it bills."""
    model = model or ""
    patch = _prefixed(model, PATCH_MODELS)
    if patch:
        (multiplier,) = patch
        if width and height:
            patches = math.ceil(width / 32) * math.ceil(height / 32)
            patches = min(patches, MAX_PATCHES)
        else:
            patches = MAX_PATCHES
        return math.ceil(patches * multiplier)
    base, per_tile = _prefixed(model, TILE_MODELS) or DEFAULT_TILE
    if detail == "low":
        return base
    if not (width and height):
        return base + per_tile * MAX_TILES
    scale = min(1.0, 2048 / max(width, height))
    width, height = width * scale, height * scale
    scale = min(1.0, 768 / min(width, height))
    width, height = width * scale, height * scale
    return base + per_tile * math.ceil(width / 512) * math.ceil(height / 512)


def _decode_data(value):
    """The bytes of a data URL or of plain base64 text, or None."""
    if not isinstance(value, str):
        return None
    match = DATA_URL.match(value)
    if match:
        value = value[match.end() :]
    try:
        return base64.b64decode(value, validate=False)
    except (binascii.Error, ValueError):
        return None


def _image_size(data):
    """(width, height) of an image, read from its header, or (None, None)."""
    if not data:
        return None, None
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Exception:  # noqa: BLE001 - unreadable: the model's largest image
        return None, None


def pdf_tokens(model, data):
    """Tokens of a PDF: its pages' text and one page image each."""
    pages, text_chars = _pdf_pages(data)
    return pages * image_tokens(model) + text_chars // CHARS_PER_TOKEN


def _pdf_pages(data):
    """(page count, characters of text) of a PDF; an unreadable one counts
    as one page holding its size in text."""
    try:
        try:
            from pypdf import PdfReader
        except ImportError:
            from PyPDF2 import PdfReader
        reader = PdfReader(io.BytesIO(data or b""), strict=False)
        text = sum(len(page.extract_text() or "") for page in reader.pages)
        return len(reader.pages), text
    except Exception:  # noqa: BLE001 - whatever it holds, it is paid for
        return 1, len(data or b"")


def _part_tokens(model, part):
    """Tokens of one content part that is an image or a file, else None."""
    image = part.get("image_url")
    if isinstance(image, dict):
        detail, image = image.get("detail", "auto"), image.get("url")
    else:
        detail = part.get("detail", "auto")
    if isinstance(image, str) and part.get("type") in ("image_url", "input_image"):
        data = _decode_data(image) if image.startswith("data:") else None
        return image_tokens(model, *_image_size(data), detail=detail)
    file = part.get("file") if isinstance(part.get("file"), dict) else part
    if part.get("type") in ("file", "input_file") and "file_data" in file:
        return pdf_tokens(model, _decode_data(file["file_data"]))
    return None


def _count(model, value):
    if isinstance(value, dict):
        special = _part_tokens(model, value)
        if special is not None:
            return special
        return sum(_count(model, item) for item in value.values())
    if isinstance(value, list | tuple):
        return sum(_count(model, item) for item in value)
    if isinstance(value, str):
        return math.ceil(len(value) / CHARS_PER_TOKEN)
    if value is None or isinstance(value, bool):
        return 0
    return math.ceil(len(json.dumps(value)) / CHARS_PER_TOKEN)


def input_tokens(model, body):
    """Estimated input tokens of a request body."""
    body = body if isinstance(body, dict) else {}
    return sum(_count(model, body[key]) for key in PROMPT_KEYS if key in body)


def output_tokens(body):
    """The output cap of a request body, or DEFAULT_OUTPUT_TOKENS."""
    body = body if isinstance(body, dict) else {}
    config = body.get("generationConfig")  # Gemini's
    if isinstance(config, dict):
        body = dict(body, max_output_tokens=config.get("maxOutputTokens"))
    for key in ("max_completion_tokens", "max_output_tokens", "max_tokens"):
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return DEFAULT_OUTPUT_TOKENS
