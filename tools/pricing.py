"""The cost of one call from its usage and the prices of one price row,
and what a call is priced with (its pricing inputs, its tier). No Odoo in
here: records are read as plain objects."""


class PriceMissing(ValueError):
    """The usage holds a kind the price does not price (audio tokens on a
    text price, seconds without a per-minute price...)."""


def compute_cost(usage, prices):
    """Cost of one call. ``prices`` holds per-1M-token prices of the
    ai.model.price row (``input``, ``cached_input``, ``output`` ...),
    ``audio_minute`` per minute and ``characters`` per 1M characters.

    Each token is billed once, at the price of its kind: cached, cache-write,
    audio and image input tokens are taken out of the input tokens;
    reasoning, audio and image output tokens out of the output tokens. A
    missing (zero) price of a discount or of a kind OpenAI bills like text
    falls back: cached to uncached, cache writes and image input to input,
    image output and reasoning to output. Audio, seconds, characters and
    hour-long cache writes have no such equivalent: without their price,
    raise PriceMissing."""

    def count(name):
        return usage.get(name) or 0

    def price(name, fallback=None):
        value = prices.get(name) or 0.0
        if value or fallback is None:
            return value
        return fallback

    def required(name, amount):
        if amount and not prices.get(name):
            raise PriceMissing(name)
        return prices.get(name) or 0.0

    audio_in, image_in = count("audio_input_tokens"), count("image_input_tokens")
    cached_audio = count("cached_audio_input_tokens")
    cached_image = count("cached_image_input_tokens")
    cached_text = max(count("cached_input_tokens") - cached_audio - cached_image, 0)
    cache_write = count("cache_write_tokens")
    long_cache_write = count("cache_write_1h_tokens")
    text_in = max(count("input_tokens") - audio_in - image_in, 0)
    uncached_text = max(text_in - cached_text - cache_write, 0)
    audio_out, image_out = count("audio_output_tokens"), count("image_output_tokens")
    reasoning = count("reasoning_tokens")
    text_out = max(count("output_tokens") - audio_out - image_out - reasoning, 0)

    input_price, output_price = prices["input"], prices.get("output") or 0.0
    audio_price = required("audio_input", audio_in)
    image_price = price("image_input", input_price)
    per_million = (
        uncached_text * input_price
        + cached_text * price("cached_input", input_price)
        + (cache_write - long_cache_write) * price("cache_write", input_price)
        + long_cache_write * required("cache_write_1h", long_cache_write)
        + (audio_in - cached_audio) * audio_price
        + cached_audio * price("cached_audio_input", audio_price)
        + (image_in - cached_image) * image_price
        + cached_image * price("cached_image_input", image_price)
        + text_out * output_price
        + reasoning * price("reasoning", output_price)
        + audio_out * required("audio_output", audio_out)
        + image_out * price("image_output", output_price)
        + count("input_characters") * required("characters", count("input_characters"))
    )
    minutes = count("audio_seconds") / 60
    return per_million / 1_000_000 + minutes * required("audio_minute", minutes)


def pricing_inputs(request_time, service, company, service_tier=None, is_batch=False):
    """What ``_cost_vals`` prices a call with (its pricing inputs): when it
    was made, by which service (and the catalogue it prices from) for which
    company (and its currency), at which tier."""
    return {
        "request_time": request_time,
        "service_id": service.id,
        "company_id": company.id,
        "company_currency_id": company.currency_id.id,
        "price_provider": service.price_provider,
        "service_tier": service_tier,
        "is_batch": is_batch,
    }


def pricing_tier(inputs):
    """The price tier of a call: batch for the Batch API, else the service
    tier its response names ('default' or none: standard; 'fast' is shown
    as priority). A tier we have no rows for (scale) gets no price."""
    if inputs.get("is_batch"):
        return "batch"
    tier = inputs.get("service_tier") or "default"
    return {"default": "standard", "auto": "standard", "fast": "priority"}.get(
        tier, tier
    )
