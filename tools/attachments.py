"""The content part that carries an image or one page of a PDF to a chat
completion, built from what a caller gave, checked. No Odoo in here."""

import base64
import binascii
import io
import re

MAX_BYTES = 20 * 1024 * 1024  # OpenAI's limit for one image


class AttachmentError(ValueError):
    """What is wrong with a file, as a ``reason`` the caller words, with
    ``values`` for its message; ``field``: the argument at fault;
    ``too_large`` when the file is over MAX_BYTES."""

    def __init__(self, reason, field, **values):
        super().__init__(reason)
        self.reason = reason
        self.field = field
        self.values = values
        self.too_large = reason == "too_large"


def checked_base64(data, field):
    """``data`` (base64 text or a data URL, given as ``field``) as clean
    base64 text, at most MAX_BYTES once decoded."""
    if not isinstance(data, str):
        raise AttachmentError("not_text", field)
    if data.startswith("data:"):
        data = data.split(",", 1)[-1]
    data = re.sub(r"\s+", "", data)
    if len(data) * 3 // 4 > MAX_BYTES:
        raise AttachmentError("too_large", field, megabytes=MAX_BYTES // 2**20)
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise AttachmentError("not_base64", field) from None
    return data


def extract_pdf_page(pdf_base64, page_number):
    """One page (from 1) of a base64 PDF, as a base64 single-page PDF."""
    try:
        from pypdf import PdfReader, PdfWriter
    except ImportError:
        from PyPDF2 import PdfReader, PdfWriter
    try:
        reader = PdfReader(io.BytesIO(base64.b64decode(pdf_base64)), strict=False)
        page_count = len(reader.pages)
    except Exception:  # noqa: BLE001 - any parse error means the same to the caller
        raise AttachmentError("bad_pdf", "pdf_base64") from None
    if (
        not isinstance(page_number, int)
        or isinstance(page_number, bool)
        or not 1 <= page_number <= page_count
    ):
        raise AttachmentError("no_page", "pdf_page", page=page_number, count=page_count)
    writer = PdfWriter()
    writer.add_page(reader.pages[page_number - 1])
    output = io.BytesIO()
    writer.write(output)
    return base64.b64encode(output.getvalue()).decode()


def content_part(
    image_url=None,
    image_base64=None,
    image_mime="image/png",
    pdf_base64=None,
    pdf_page=1,
):
    """The chat completion content part for exactly one of an image URL,
    a base64 image or one page of a base64 PDF."""
    if sum(map(bool, (image_url, image_base64, pdf_base64))) != 1:
        raise AttachmentError("one_source", "image_url")
    if image_url:
        if not isinstance(image_url, str) or not re.match(
            r"^(https?://|data:image/)", image_url
        ):
            raise AttachmentError("bad_url", "image_url")
        return {"type": "image_url", "image_url": {"url": image_url}}
    if image_base64:
        if not re.match(r"^image/[a-z0-9.+-]+$", image_mime or ""):
            raise AttachmentError("bad_mime", "image_mime", mime=image_mime)
        data = checked_base64(image_base64, "image_base64")
        data_url = f"data:{image_mime};base64,{data}"
        return {"type": "image_url", "image_url": {"url": data_url}}
    page = extract_pdf_page(checked_base64(pdf_base64, "pdf_base64"), pdf_page)
    return {
        "type": "file",
        "file": {
            "filename": f"page-{pdf_page}.pdf",
            "file_data": f"data:application/pdf;base64,{page}",
        },
    }
