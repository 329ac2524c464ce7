"""The other providers, as the fake server answers them under their own base
paths, with the shapes their documentation gives: Anthropic's Messages API
(/anthropic/v1), Google's Gemini API and its OpenAI-compatible endpoint
(/gemini/v1beta), Azure OpenAI (/azure/openai, deployments and v1)."""

import time
import uuid
from urllib.parse import parse_qs

from .fake_openai import REPLY_TEXT, Reply, chat_completion, chat_usage, count_tokens

# What an Azure deployment of the tests runs: Azure names the model, not the
# deployment, in its answers.
AZURE_DEPLOYMENTS = {"prod-4o": "gpt-4o-2024-08-06", "mini": "gpt-4o-mini-2024-07-18"}


# -- Anthropic ------------------------------------------------------------
def anthropic_error(status, error_type, message):
    return Reply(
        status,
        {
            "type": "error",
            "error": {"type": error_type, "message": message},
            "request_id": f"req_{uuid.uuid4().hex[:24]}",
        },
    )


def anthropic_usage(
    input_tokens, output_tokens, cache_read=0, cache_write=0, cache_write_1h=0
):
    return {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": cache_write,
        "cache_read_input_tokens": cache_read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": cache_write - cache_write_1h,
            "ephemeral_1h_input_tokens": cache_write_1h,
        },
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }


def anthropic_message(model, usage, text=REPLY_TEXT, stop_reason="end_turn"):
    return {
        "id": f"msg_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage,
    }


def anthropic_stream_events(model, usage, text=REPLY_TEXT):
    """A Messages stream: message_start carries the input (and cache)
    usage, message_delta the output tokens, message_stop ends it."""
    start = anthropic_message(model, dict(usage, output_tokens=1), stop_reason=None)
    start["content"] = []
    events = [
        ("message_start", {"type": "message_start", "message": start}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        ("ping", {"type": "ping"}),
    ]
    for i, word in enumerate(text.split(" ")):
        events.append(
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {
                        "type": "text_delta",
                        "text": word if i == 0 else " " + word,
                    },
                },
            )
        )
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": usage["output_tokens"]},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return events


def anthropic_reply(method, path, body, headers, _fake):
    # the API key comes as x-api-key, or as a bearer token (the SDK's way)
    if not headers.get("X-Api-Key") and "Bearer " not in headers.get(
        "Authorization", ""
    ):
        return anthropic_error(
            401, "authentication_error", "x-api-key header is required"
        )
    if not headers.get("Anthropic-Version"):
        return anthropic_error(
            400, "invalid_request_error", "anthropic-version: header is required"
        )
    if method == "GET" and path == "/anthropic/v1/models":
        return Reply(
            body={
                "data": [
                    {
                        "type": "model",
                        "id": "claude-sonnet-4-5-20250929",
                        "display_name": "Claude Sonnet 4.5",
                        "created_at": "2025-09-29T00:00:00Z",
                    }
                ],
                "has_more": False,
                "first_id": "claude-sonnet-4-5-20250929",
                "last_id": "claude-sonnet-4-5-20250929",
            }
        )
    if method == "POST" and path == "/anthropic/v1/messages":
        if not body.get("max_tokens"):
            return anthropic_error(
                400, "invalid_request_error", "max_tokens: Field required"
            )
        model = body.get("model")
        prompt = count_tokens([body.get("system"), body.get("messages")])
        usage = anthropic_usage(prompt, count_tokens(REPLY_TEXT))
        if body.get("stream"):
            return Reply(events=anthropic_stream_events(model, usage))
        return Reply(body=anthropic_message(model, usage))
    return anthropic_error(404, "not_found_error", f"Not found: {method} {path}")


ANTHROPIC_ADMIN_PREFIX = "sk-ant-admin"
ANTHROPIC_BILLING_ENDPOINTS = (
    "organizations/usage_report/messages",
    "organizations/cost_report",
)


def anthropic_billing_reply(method, path, _body, headers, fake):
    """The Usage and Cost API over ``fake.billing`` ({"organizations/
    usage_report/messages" or "organizations/cost_report": [bucket, ...]}),
    two buckets a page (cursor: the next bucket's index), for an Admin API
    key only: another key gets the API's permission error."""
    key = headers.get("X-Api-Key") or ""
    if not headers.get("Anthropic-Version"):
        return anthropic_error(
            400, "invalid_request_error", "anthropic-version: header is required"
        )
    if not key.startswith(ANTHROPIC_ADMIN_PREFIX):
        return anthropic_error(
            403,
            "permission_error",
            "Your API key does not have permission to use the specified resource.",
        )
    endpoint, _question, query = path.removeprefix("/anthropic/v1/").partition("?")
    params = parse_qs(query)
    if method != "GET" or endpoint not in ANTHROPIC_BILLING_ENDPOINTS:
        return anthropic_error(404, "not_found_error", f"Not found: {method} {path}")
    if "starting_at" not in params:
        return anthropic_error(
            400, "invalid_request_error", "starting_at: Field required"
        )
    start = int((params.get("page") or ["0"])[0])
    buckets = fake.billing.get(endpoint, [])
    more = start + 2 < len(buckets)
    return Reply(
        body={
            "data": buckets[start : start + 2],
            "has_more": more,
            "next_page": str(start + 2) if more else None,
        }
    )


# -- Google Gemini --------------------------------------------------------
def gemini_error(status, code_name, message):
    return Reply(
        status, {"error": {"code": status, "message": message, "status": code_name}}
    )


def gemini_usage(prompt, candidates, thoughts=0, cached=0, audio=0):
    usage = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": candidates,
        "totalTokenCount": prompt + candidates + thoughts,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt - audio}]
        + ([{"modality": "AUDIO", "tokenCount": audio}] if audio else []),
    }
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    if cached:
        usage["cachedContentTokenCount"] = cached
        usage["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": cached}]
    return usage


def gemini_answer(model, usage, text=REPLY_TEXT, finish_reason="STOP"):
    candidate = {
        "content": {"parts": [{"text": text}], "role": "model"},
        "index": 0,
    }
    if finish_reason:
        candidate["finishReason"] = finish_reason
    answer = {"candidates": [candidate], "modelVersion": model}
    answer["responseId"] = uuid.uuid4().hex[:22]
    if usage:
        answer["usageMetadata"] = usage
    return answer


def gemini_stream_chunks(model, usage):
    """streamGenerateContent?alt=sse: each chunk an answer; the last one
    names the finish reason and carries the whole usage."""
    words = REPLY_TEXT.split(" ")
    chunks = []
    for i, word in enumerate(words):
        last = i == len(words) - 1
        partial = dict(usage, candidatesTokenCount=i + 1, totalTokenCount=None)
        chunks.append(
            (
                None,
                gemini_answer(
                    model,
                    usage if last else {k: v for k, v in partial.items() if v},
                    text=word if i == 0 else " " + word,
                    finish_reason="STOP" if last else None,
                ),
            )
        )
    return chunks


def gemini_reply(method, path, body, headers, _fake):
    route = path.removeprefix("/gemini/v1beta/")
    if route.startswith("openai/"):  # the OpenAI-compatible endpoint
        if not headers.get("Authorization", "").startswith("Bearer "):
            return Reply(401, [{"error": {"code": 401, "status": "UNAUTHENTICATED"}}])
        if route == "openai/chat/completions":
            prompt = count_tokens(body.get("messages"))
            return Reply(
                body=chat_completion(
                    body.get("model"), chat_usage(prompt, count_tokens(REPLY_TEXT))
                )
            )
        return gemini_error(404, "NOT_FOUND", f"{route} is not found")
    if not headers.get("X-Goog-Api-Key"):
        return gemini_error(
            403,
            "PERMISSION_DENIED",
            "Method doesn't allow unregistered callers. Please use an API key.",
        )
    if method == "GET" and route == "models":
        return Reply(
            body={
                "models": [
                    {
                        "name": "models/gemini-2.5-flash",
                        "displayName": "Gemini 2.5 Flash",
                    },
                    {"name": "models/gemini-2.5-pro", "displayName": "Gemini 2.5 Pro"},
                ]
            }
        )
    model, _colon, action = route.removeprefix("models/").partition(":")
    usage = gemini_usage(count_tokens(body.get("contents")), count_tokens(REPLY_TEXT))
    if action == "generateContent":
        return Reply(body=gemini_answer(model, usage))
    if action == "streamGenerateContent?alt=sse":
        return Reply(events=gemini_stream_chunks(model, usage))
    return gemini_error(404, "NOT_FOUND", f"models/{model}:{action} is not found")


# -- Azure OpenAI ---------------------------------------------------------
def azure_error(status, code, message):
    return Reply(status, {"error": {"code": code, "message": message}})


def azure_reply(method, path, body, headers, _fake):
    if not headers.get("Api-Key"):
        return azure_error(
            401,
            "401",
            "Access denied due to missing subscription key. Make sure to include "
            "subscription key when making requests to an API.",
        )
    route, _question, query = path.removeprefix("/azure/openai/").partition("?")
    if route.startswith("deployments/"):
        if not query.startswith("api-version="):
            return azure_error(404, "404", "Resource not found")
        _deployments, deployment, operation = route.split("/", 2)
        model = AZURE_DEPLOYMENTS.get(deployment)
        if model is None:
            return azure_error(
                404,
                "DeploymentNotFound",
                "The API deployment for this resource does not exist.",
            )
    elif route.startswith("v1/"):
        operation = route.removeprefix("v1/")
        model = AZURE_DEPLOYMENTS.get(body.get("model"), body.get("model"))
    elif route == "models":
        return Reply(body={"object": "list", "data": [{"id": "gpt-4o"}]})
    else:
        return azure_error(404, "404", "Resource not found")
    if operation == "chat/completions":
        prompt = count_tokens(body.get("messages"))
        answer = chat_completion(model, chat_usage(prompt, count_tokens(REPLY_TEXT)))
        answer["created"] = int(time.time())
        answer["prompt_filter_results"] = [
            {"prompt_index": 0, "content_filter_results": {}}
        ]
        return Reply(body=answer)
    return azure_error(404, "404", "Resource not found")


PROVIDER_ROUTES = {
    "/anthropic/v1/organizations/": anthropic_billing_reply,
    "/anthropic/": anthropic_reply,
    "/gemini/": gemini_reply,
    "/azure/": azure_reply,
}
