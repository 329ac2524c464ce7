"""Reading what an AI response reports: its usage (every kind of token,
seconds, characters) and what else it says (id, model, finish reason, service
tier...), by its shape: OpenAI's (also Azure's and every OpenAI-compatible
server's), Anthropic's Messages API and Google's Gemini API, as JSON or as
their SDKs' objects. No Odoo in here."""

import hashlib
import json
import re

# A token count above this is not a real call: a broken proxy or a bad parse.
MAX_PLAUSIBLE_TOKENS = 100_000_000

# Every kind of usage a response can report. Cached, cache-write, audio and
# image input tokens are parts of input_tokens; reasoning, audio and image
# output tokens parts of output_tokens; cache writes of an hour (Anthropic's
# long cache, billed apart) part of the cache writes. audio_seconds is what
# whisper bills (a transcription's {"type": "duration"} usage);
# input_characters what tts bills (counted from the request: speech
# responses carry no usage).
TOKEN_FIELDS = (
    "input_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "audio_input_tokens",
    "cached_audio_input_tokens",
    "image_input_tokens",
    "cached_image_input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "audio_output_tokens",
    "image_output_tokens",
    "total_tokens",
    "input_characters",
)
USAGE_FIELDS = (*TOKEN_FIELDS, "audio_seconds")
MAX_PLAUSIBLE_SECONDS = 30 * 24 * 3600
# an Images API answer and its stream's last event: all output is image tokens
IMAGE_EVENTS = frozenset({"image_generation.completed", "image_edit.completed"})


class UsageError(ValueError):
    """The usage block of a response cannot be trusted."""


def to_payload(result):
    """Return the JSON body of ``result`` as a dict: a dict as is, a
    ``requests.Response`` parsed, an ``openai`` SDK object dumped.
    Return None when nothing usable can be read."""
    if result is None:
        return None
    if isinstance(result, dict):
        return result
    if hasattr(result, "model_dump"):  # openai, anthropic, google-genai objects
        try:
            return result.model_dump(mode="json")
        except TypeError:
            return result.model_dump()
    if hasattr(result, "json") and hasattr(result, "status_code"):
        try:
            payload = result.json()
        except ValueError:
            return None
        return payload if isinstance(payload, dict) else None
    if hasattr(result, "to_dict"):
        return result.to_dict()
    return None


def _token_count(value, name):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UsageError(f"usage field {name} is not a number: {value!r}")
    if value != int(value) or value < 0 or value > MAX_PLAUSIBLE_TOKENS:
        raise UsageError(
            f"usage field {name} is not a plausible token count: {value!r}"
        )
    return int(value)


def _seconds(value):
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UsageError(f"usage field seconds is not a number: {value!r}")
    if not 0 <= value <= MAX_PLAUSIBLE_SECONDS:
        raise UsageError(f"usage field seconds is not a plausible duration: {value!r}")
    return float(value)


def _usage_block(payload):
    usage = payload.get("usage")
    if usage is None and isinstance(payload.get("response"), dict):
        usage = payload["response"].get("usage")  # a Responses or realtime event
    return usage if isinstance(usage, dict) else None


def _is_image_result(payload):
    """An Images API answer (or its stream's last event): its output tokens
    are image tokens unless the usage splits them."""
    if payload.get("type") in IMAGE_EVENTS:
        return True
    return "object" not in payload and isinstance(payload.get("data"), list)


def _field(block, camel):
    """A field of a Gemini block, named in camelCase in JSON and in
    snake_case by the google-genai SDK's objects."""
    if camel in block:
        return block[camel]
    return block.get(re.sub(r"([A-Z])", lambda m: "_" + m[1].lower(), camel))


def _modality_tokens(details, modality):
    return sum(
        _field(part, "tokenCount") or 0
        for part in details or ()
        if isinstance(part, dict) and part.get("modality") == modality
    )


def _gemini_usage(metadata):
    """Gemini's ``usageMetadata``: the prompt count includes the cached
    content and leaves out the prompt of tool use; the candidates count
    leaves out the thoughts, which are billed as output."""
    prompt = _token_count(_field(metadata, "promptTokenCount"), "promptTokenCount")
    tool_prompt = _field(metadata, "toolUsePromptTokenCount")
    candidates = _field(metadata, "candidatesTokenCount")
    thoughts = _field(metadata, "thoughtsTokenCount")
    prompt_details = _field(metadata, "promptTokensDetails")
    values = {
        "input_tokens": (prompt or 0)
        + (_token_count(tool_prompt, "toolUsePromptTokenCount") or 0),
        "cached_input_tokens": _field(metadata, "cachedContentTokenCount"),
        "audio_input_tokens": _modality_tokens(prompt_details, "AUDIO"),
        "cached_audio_input_tokens": _modality_tokens(
            _field(metadata, "cacheTokensDetails"), "AUDIO"
        ),
        "output_tokens": (_token_count(candidates, "candidatesTokenCount") or 0)
        + (_token_count(thoughts, "thoughtsTokenCount") or 0),
        "reasoning_tokens": thoughts,
        "image_output_tokens": _modality_tokens(
            _field(metadata, "candidatesTokensDetails"), "IMAGE"
        ),
        "total_tokens": _field(metadata, "totalTokenCount"),
    }
    return checked_usage({k: v for k, v in values.items() if v is not None})


def _anthropic_usage(usage):
    """Anthropic's usage: its input tokens leave out those read from and
    written to the cache, each counted apart; the hour-long cache writes are
    a part of the writes (``cache_creation``)."""
    read = _token_count(usage.get("cache_read_input_tokens"), "cache_read") or 0
    write = _token_count(usage.get("cache_creation_input_tokens"), "cache_write") or 0
    uncached = _token_count(usage.get("input_tokens"), "input_tokens") or 0
    creation = usage.get("cache_creation")
    long_writes = (
        creation.get("ephemeral_1h_input_tokens") if isinstance(creation, dict) else 0
    )
    return checked_usage(
        {
            "input_tokens": uncached + read + write,
            "cached_input_tokens": read,
            "cache_write_tokens": write,
            "cache_write_1h_tokens": long_writes or 0,
            "output_tokens": usage.get("output_tokens"),
        }
    )


def is_anthropic_usage(usage):
    return "cache_read_input_tokens" in usage or "cache_creation_input_tokens" in usage


def extract_usage(payload):
    """Read usage from any response shape: OpenAI's of the OpenAPI spec,
    Anthropic's and Gemini's.

    Chat completions (``prompt_tokens``, ``*_tokens_details``), the
    Responses API, embeddings, realtime (``input_token_details`` with
    ``cached_tokens_details``), transcriptions (token or duration usage),
    the Images API and their stream events are understood; so are
    Anthropic's Messages (``cache_read_input_tokens``...) and Gemini's
    ``usageMetadata``. Return a dict with the keys of USAGE_FIELDS, or None
    when the response reports no usage. Raise UsageError when the numbers
    are impossible."""
    if not isinstance(payload, dict):
        return None
    metadata = _field(payload, "usageMetadata")
    if isinstance(metadata, dict):
        return _gemini_usage(metadata)
    usage = _usage_block(payload)
    if usage is None:
        return None
    if is_anthropic_usage(usage) or payload.get("type") == "message":
        return _anthropic_usage(usage)
    if usage.get("type") == "duration":
        return checked_usage({"audio_seconds": _seconds(usage.get("seconds"))})
    if usage.get("type") == "characters":  # see speech_payload
        return checked_usage({"input_characters": usage.get("characters")})
    if "input_tokens" in usage or "output_tokens" in usage:
        input_tokens, output_tokens = (
            usage.get("input_tokens"),
            usage.get("output_tokens"),
        )
    elif "prompt_tokens" in usage or "completion_tokens" in usage:
        input_tokens = usage.get("prompt_tokens")
        output_tokens = usage.get("completion_tokens")
    else:
        return None
    input_details = (
        usage.get("input_tokens_details")
        or usage.get("input_token_details")
        or usage.get("prompt_tokens_details")
        or {}
    )
    output_details = (
        usage.get("output_tokens_details")
        or usage.get("output_token_details")
        or usage.get("completion_tokens_details")
        or {}
    )
    cached_details = input_details.get("cached_tokens_details") or {}
    values = {
        "input_tokens": input_tokens,
        "cached_input_tokens": input_details.get("cached_tokens"),
        "cache_write_tokens": input_details.get("cache_write_tokens"),
        "audio_input_tokens": input_details.get("audio_tokens"),
        "cached_audio_input_tokens": cached_details.get("audio_tokens"),
        "image_input_tokens": input_details.get("image_tokens"),
        "cached_image_input_tokens": cached_details.get("image_tokens"),
        "output_tokens": output_tokens,
        "reasoning_tokens": output_details.get("reasoning_tokens"),
        "audio_output_tokens": output_details.get("audio_tokens"),
        "image_output_tokens": output_details.get("image_tokens"),
        "total_tokens": usage.get("total_tokens"),
    }
    if values["image_output_tokens"] is None and _is_image_result(payload):
        values["image_output_tokens"] = output_tokens
    return checked_usage({k: v for k, v in values.items() if v is not None})


def checked_usage(usage):
    """A usage dict of USAGE_FIELDS (as extract_usage gives it; absent
    fields are zero), checked like a response's; raise UsageError when
    the parts do not fit in their wholes."""
    if not isinstance(usage, dict) or set(usage) - set(USAGE_FIELDS):
        raise UsageError(f"usage must be a dict of {', '.join(USAGE_FIELDS)}")
    values = {name: _token_count(usage.get(name), name) or 0 for name in TOKEN_FIELDS}
    values["audio_seconds"] = (
        _seconds(usage["audio_seconds"]) if usage.get("audio_seconds") else 0.0
    )
    if values["cache_write_1h_tokens"] > values["cache_write_tokens"]:
        raise UsageError("usage reports more cache_write_1h_tokens than cache writes")
    parts = (
        ("cached_input_tokens", "cache_write_tokens"),
        ("audio_input_tokens", "image_input_tokens"),
        ("reasoning_tokens", "audio_output_tokens", "image_output_tokens"),
        ("cached_audio_input_tokens", "cached_image_input_tokens"),
    )
    wholes = ("input_tokens", "input_tokens", "output_tokens", "cached_input_tokens")
    for names, whole in zip(parts, wholes, strict=True):
        if sum(values[name] for name in names) > values[whole]:
            raise UsageError(f"usage reports more {' + '.join(names)} than {whole}")
    for part, whole in (
        ("cached_audio_input_tokens", "audio_input_tokens"),
        ("cached_image_input_tokens", "image_input_tokens"),
    ):
        if values[part] > values[whole]:
            raise UsageError(f"usage reports more {part} than {whole}")
    if not usage.get("total_tokens"):
        values["total_tokens"] = values["input_tokens"] + values["output_tokens"]
    return values


def speech_payload(body):
    """The answer to log for a text-to-speech call, whose real answer is
    audio bytes without usage: tts models bill the characters of the input,
    as a usage of type "characters" (like a transcription's "duration")."""
    body = body if isinstance(body, dict) else {}
    text = body.get("input")
    return {
        "object": "audio.speech",
        "model": body.get("model"),
        "usage": {"type": "characters", "characters": len(text or "")},
    }


def _output_text_length(payload):
    length = 0
    for choice in payload.get("choices") or ():
        message = choice.get("message") or choice.get("delta") or {}
        content = message.get("content")
        if isinstance(content, str):
            length += len(content)
        elif "text" in choice and isinstance(choice["text"], str):
            length += len(choice["text"])
    for item in payload.get("output") or ():
        for part in item.get("content") or () if isinstance(item, dict) else ():
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                length += len(part["text"])
    return length


def _anthropic_info(payload):
    text = sum(
        len(block.get("text") or "")
        for block in payload.get("content") or ()
        if isinstance(block, dict)
    )
    return {
        "response_id": payload.get("id") or False,
        "response_model": payload.get("model") or False,
        "system_fingerprint": False,
        "finish_reason": payload.get("stop_reason") or False,
        "response_length": text,
        "service_tier": (payload.get("usage") or {}).get("service_tier") or False,
    }


def gemini_text_length(payload):
    """Characters of text in a Gemini answer (or stream chunk)."""
    return sum(
        len(part.get("text") or "")
        for candidate in payload.get("candidates") or ()
        for part in (candidate.get("content") or {}).get("parts") or ()
        if isinstance(part, dict) and not part.get("thought")
    )


def gemini_finish_reason(payload):
    for candidate in payload.get("candidates") or ():
        reason = _field(candidate, "finishReason")
        if reason:
            return reason
    return None


def _gemini_info(payload):
    return {
        "response_id": _field(payload, "responseId") or False,
        "response_model": _field(payload, "modelVersion") or False,
        "system_fingerprint": False,
        "finish_reason": gemini_finish_reason(payload) or False,
        "response_length": gemini_text_length(payload),
        "service_tier": False,
    }


def extract_response_info(payload):
    """Facts about a response other than usage, as log values."""
    if not isinstance(payload, dict):
        return {}
    if payload.get("type") == "message":
        return _anthropic_info(payload)
    if "candidates" in payload or _field(payload, "usageMetadata"):
        return _gemini_info(payload)
    if payload.get("object") != "response" and isinstance(
        payload.get("response"), dict
    ):
        payload = payload["response"]
    finish_reasons = [
        c.get("finish_reason")
        for c in payload.get("choices") or ()
        if c.get("finish_reason")
    ]
    finish_reason = finish_reasons[0] if finish_reasons else None
    if not finish_reason and payload.get("object") == "response":
        details = payload.get("incomplete_details") or {}
        finish_reason = details.get("reason") or payload.get("status")
    return {
        "response_id": payload.get("id") or False,
        "response_model": payload.get("model") or False,
        "system_fingerprint": payload.get("system_fingerprint") or False,
        "finish_reason": finish_reason or False,
        "response_length": _output_text_length(payload),
        "service_tier": payload.get("service_tier") or False,
    }


def request_fingerprint(*parts):
    """A stable digest of a request, for replay detection."""
    raw = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()
