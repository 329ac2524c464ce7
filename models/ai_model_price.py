import logging

from odoo import api, fields, models, tools
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from ..compat import Constraint, UniqueIndex, table_constraints
from ..tools import price_catalogue
from ..tools.figures import format_count
from ..tools.pricing import PriceMissing, compute_cost, pricing_tier

_logger = logging.getLogger(__name__)
PRICE_TIERS = [
    ("standard", "Standard"),
    ("flex", "Flex"),
    ("priority", "Priority"),
    ("batch", "Batch"),
]
# the values a price row holds (as compute_cost reads them) and their fields,
# each declared with price_field (tests check that the two say the same)
PRICE_FIELDS = {
    value: f"{value}_price" for value in (*price_catalogue.ROW_VALUES, "reasoning")
}
PRICE_DIGITS = (16, 6)


def price_field(label, **options):
    """A price of a row (per 1M tokens unless its label says otherwise),
    with the digits of the catalogue's smallest prices."""
    return fields.Float(label, digits=PRICE_DIGITS, **options)


# a catalogue row the list has when a shared row has these values
ROW_KEY = (
    "price_provider",
    "model_name",
    "price_tier",
    "date_from",
    "min_input_tokens",
)
# what two active rows may not both say: two would price the same calls, and
# which one wins would be down to their ids (a service's rows, whatever their
# provider; shared rows, per provider)
ONE_ACTIVE_PRICE = (
    "COALESCE(service_id, 0),"
    " (CASE WHEN service_id IS NULL THEN price_provider ELSE '' END), model_name,"
    " match_type, price_tier, date_from, min_input_tokens"
)


def catalogue_providers(_model):
    """The price catalogue's providers (a selection, named as it names them)."""
    return price_catalogue.providers()


def check_catalogue_provider(env, provider):
    """Raise ValidationError unless ``provider`` is one of the catalogue's
    (Odoo checks the values of no selection given by a function)."""
    known = dict(price_catalogue.providers())
    if provider and provider not in known:
        raise ValidationError(
            env._(
                "%(provider)r is not a provider of the price catalogue; it knows: "
                "%(known)s.",
                provider=provider,
                known=", ".join(known),
            )
        )


@table_constraints
class AiModelPrice(models.Model):
    """Price of one model from a given date.

    A log is priced with the row of its exact model name; else of that name
    without its dated snapshot suffix (gpt-4o-mini-2024-07-18: gpt-4o-mini);
    else of the longest prefix an administrator marked as such. Anything
    else is Missing Price, never a sibling's price. A shared row prices the
    calls of the services whose Price Catalogue is its provider; a service's
    own row beats a shared one; among those, the latest Valid From on or before the
    log's request date (UTC), and of one date the highest long-context
    threshold the call's input passes. A model without a row is looked up
    in the price catalogue (genai-prices) at call time, and its rows are
    added."""

    _name = "ai.model.price"
    _inherit = ["ai.usage.cached.config"]
    _description = "AI Model Price"
    _order = "model_name, service_id, date_from desc, min_input_tokens, id desc"

    model_name = fields.Char(
        required=True,
        index=True,
        help="Model name as the provider reports it (a dated snapshot finds the "
        "row of its undated name), or its beginning for a prefix row.",
    )
    price_provider = fields.Selection(
        catalogue_providers,
        "Price Catalogue",
        required=True,
        default=price_catalogue.OPENAI,
        index=True,
        help="Whose price this is, as the price catalogue (genai-prices) names "
        "providers. A shared row prices the calls of the services whose Price "
        "Catalogue is this.",
    )
    match_type = fields.Selection(
        [("exact", "Exact name"), ("prefix", "Name starts with")],
        required=True,
        default="exact",
        help="Name starts with: this price also bills every model whose name "
        "begins so and has no row of its own. Set it only where you are sure.",
    )
    price_tier = fields.Selection(
        PRICE_TIERS,
        required=True,
        default="standard",
        help="The rate this row is for: OpenAI's standard tier, its flex or "
        "priority service tier, or the Batch API. A call is priced only at the "
        "rate of its own tier.",
    )
    service_id = fields.Many2one(
        "ai.service",
        ondelete="cascade",
        index=True,
        help="Leave empty for a price that applies to every service.",
    )
    date_from = fields.Date(
        "Valid From",
        required=True,
        default=fields.Date.context_today,
    )
    currency_id = fields.Many2one(
        "res.currency",
        required=True,
        default=lambda self: self.env.ref("base.USD"),
    )
    min_input_tokens = fields.Integer(
        "Above Input Tokens",
        required=True,  # a NULL would not count in the unique index
        default=0,
        help="Long-context price: this row prices a call whose input passes this "
        "many tokens (every token of it, as OpenAI bills). 0: any call.",
    )
    input_price = price_field("Input / 1M tokens", required=True)
    cached_input_price = price_field(
        "Cached input / 1M tokens",
        help="Price of cached input tokens. Zero means no discount: cached tokens "
        "cost the input price.",
    )
    cache_write_price = price_field(
        "Cache write / 1M tokens",
        help="Price of input tokens written to the cache. Zero: the input price.",
    )
    output_price = price_field("Output / 1M tokens")
    reasoning_price = price_field(
        "Reasoning / 1M tokens",
        help="Zero means reasoning tokens are billed as output tokens, as OpenAI does.",
    )
    cache_write_1h_price = price_field(
        "Cache write (1 hour) / 1M tokens",
        help="Anthropic's hour-long cache writes. Zero: such a call is Missing "
        "Price, not billed as a shorter cache write.",
    )
    audio_input_price = price_field(
        "Audio input / 1M tokens",
        help="Zero: a call with audio input is Missing Price, not billed as text.",
    )
    cached_audio_input_price = price_field(
        "Cached audio input / 1M tokens",
        help="Zero: the audio input price.",
    )
    audio_output_price = price_field(
        "Audio output / 1M tokens",
        help="Zero: a call with audio output is Missing Price, not billed as text.",
    )
    image_input_price = price_field(
        "Image input / 1M tokens",
        help="Zero: image tokens cost the input price, as vision input does.",
    )
    cached_image_input_price = price_field(
        "Cached image input / 1M tokens",
        help="Zero: the image input price.",
    )
    image_output_price = price_field(
        "Image output / 1M tokens",
        help="Zero: image output tokens cost the output price.",
    )
    audio_minute_price = price_field(
        "Audio / minute",
        help="For models billed by audio duration (whisper). Zero: such a call is "
        "Missing Price.",
    )
    characters_price = price_field(
        "Characters / 1M",
        help="For models billed by input characters (tts-1). Zero: such a call is "
        "Missing Price.",
    )
    source = fields.Char(help="Where and when this price was taken.")
    active = fields.Boolean(default=True)

    _prices_not_negative = Constraint(
        "CHECK(min_input_tokens >= 0 AND "
        + " AND ".join(f"{field} >= 0" for field in PRICE_FIELDS.values())
        + ")",
        "Prices cannot be negative.",
    )
    # also what keeps two workers from adding the same catalogue row at once
    _one_active_price = UniqueIndex(
        f"({ONE_ACTIVE_PRICE}) WHERE active",
        "There is already an active price of this model and match type for this "
        "service (or, for a shared price, this price catalogue), tier, Valid From "
        "and input threshold: change that one, or archive it first.",
    )

    def init(self):
        # Before the index exists, two active rows could say the same: the one
        # that priced calls (the newest) stays, the others are archived.
        self.env.cr.execute(
            SQL(
                """UPDATE ai_model_price SET active = FALSE WHERE id IN (
                    SELECT id FROM (
                        SELECT id, row_number() OVER (
                            PARTITION BY %s ORDER BY id DESC) AS rank
                        FROM ai_model_price WHERE active
                    ) ranked WHERE rank > 1)
                RETURNING id""",
                SQL(ONE_ACTIVE_PRICE),  # pylint: disable=sql-injection
            )
        )
        if archived := [row[0] for row in self.env.cr.fetchall()]:
            _logger.warning(
                "ai_usage_log: %d prices archived, each the same as a newer one: %s",
                len(archived),
                archived,
            )

    @api.constrains("price_provider")
    def _check_provider(self):
        for price in self:
            check_catalogue_provider(self.env, price.price_provider)

    @api.depends(
        "model_name", "match_type", "price_tier", "min_input_tokens", "date_from"
    )
    def _compute_display_name(self):
        tiers = dict(PRICE_TIERS)
        for price in self:
            qualifiers = []
            if price.match_type == "prefix":
                qualifiers.append(self.env._("and the names starting so"))
            if price.price_tier != "standard":
                qualifiers.append(tiers.get(price.price_tier, price.price_tier))
            if price.min_input_tokens:
                threshold = format_count(price.min_input_tokens)
                qualifiers.append(
                    self.env._("above %(tokens)s input tokens", tokens=threshold)
                )
            name = price.model_name or ""
            if qualifiers:
                name = f"{name} ({', '.join(qualifiers)})"
            price.display_name = self.env._(
                "%(name)s, from %(date)s", name=name, date=price.date_from
            )

    def _price_dict(self):
        self.ensure_one()
        return {value: self[field] for value, field in PRICE_FIELDS.items()}

    @api.model
    @tools.ormcache("model_name", "service_id", "day", "tier")
    def _price_candidates(self, model_name, service_id, day, tier):
        """The rows that may price a call, best first, as tuples (min input
        tokens, price id, prices, currency id, how it matched: exact,
        undated or prefix). Cached: every call looks its price up."""
        if not model_name:
            return ()
        undated = price_catalogue.undated(model_name)
        provider = self.env["ai.service"].sudo().browse(service_id).price_provider
        # active_test is not in the cache key: the cached rows are the active ones
        # whatever the caller's context says
        candidates = (
            self.sudo()
            .with_context(active_test=True)
            .search(
                [
                    ("date_from", "<=", day),
                    ("price_tier", "=", tier),
                    "|",
                    ("service_id", "=", service_id),
                    "&",
                    ("service_id", "=", False),
                    ("price_provider", "=", provider or False),
                    "|",
                    ("model_name", "in", [model_name, undated]),
                    ("match_type", "=", "prefix"),
                ]
            )
        )

        def rank(price):
            if price.model_name == model_name:
                # its exact row before a "starts with" row of the same name
                return 3, price.match_type == "exact", "exact"
            if price.model_name == undated and price.match_type == "exact":
                return 2, 0, "undated"
            if price.match_type == "prefix" and model_name.startswith(price.model_name):
                return 1, len(price.model_name), "prefix"
            return None

        # a prefix row of another name (acme-chat for gpt-4o-mini) does not
        # match: it is left out before the sort compares ranks
        ranked = [(found, price) for price in candidates if (found := rank(price))]
        ranked.sort(
            key=lambda item: (
                item[0],
                bool(item[1].service_id),
                item[1].date_from,
                item[1].min_input_tokens,
                item[1].id,
            ),
            reverse=True,
        )
        return tuple(
            (price.min_input_tokens, price.id, price._price_dict(),
             price.currency_id.id, found[2])
            for found, price in ranked
        )  # fmt: skip

    @api.model
    def _find_price_values(
        self, model_name, service_id, day, tier="standard", input_tokens=0
    ):
        """(price id, prices, currency id, how it matched) of the best row
        for a call of ``input_tokens``, or None: the best match by name,
        then the service's own row, then the latest Valid From, then the
        highest long-context threshold the call's input passes."""
        for threshold, *found in self._price_candidates(
            model_name, service_id, day, tier
        ):
            if not threshold or input_tokens > threshold:
                return tuple(found)
        return None

    @api.model
    def _price_or_catalogue(
        self, model_name, inputs, day, tier="standard", input_tokens=0
    ):
        """_find_price_values, after adding the catalogue's rows of a model
        absent from the list: of a dated snapshot the catalogue prices apart
        (gpt-4o-2024-05-13 is not gpt-4o; a snapshot priced as its undated
        name has no rows of its own), or of the model or its undated name
        when nothing matched. Added rows stay visible and
        editable; a model the list has, even archived or from a later date,
        is never added again."""
        service_id = inputs["service_id"]
        found = self._find_price_values(
            model_name or "", service_id, day, tier, input_tokens
        )
        if not model_name or (found and found[3] == "exact"):
            return found
        if self.env.context.get("ai_usage_estimate"):
            # an estimate (a hard budget's reservation) adds no rows: the
            # call's own pricing will
            return found
        provider = (
            inputs["price_provider"]
            if "price_provider" in inputs  # known to a call's start values: no query
            else self.env["ai.service"].sudo().browse(service_id).price_provider
        )
        if not provider:
            return found
        undated = price_catalogue.undated(model_name)
        names = [model_name] + ([] if found else [undated])
        prices = self.sudo().with_context(active_test=False)
        for name in names:
            if not price_catalogue.rows_for(name, provider):
                continue
            tier_rows = [
                ("price_provider", "=", provider),
                ("model_name", "=", name),
                ("price_tier", "=", tier),
            ]
            if prices.search_count(tier_rows, limit=1):
                continue
            if not prices._add_catalogue_rows(provider, [name]):
                if not prices.search_count(tier_rows, limit=1):
                    continue  # none of this tier in the catalogue: the next name
                # another worker added them since this one looked: its
                # cached candidates predate them
                self.env.registry.clear_cache()
            return self._find_price_values(
                model_name, service_id, day, tier, input_tokens
            )
        return found

    @api.model
    def _cost_vals(self, usage, model_name, inputs):
        """Log values pricing ``usage`` of ``model_name`` for a call whose
        ``inputs`` are those of pricing_inputs: the prices used, the cost in
        their currency and in the company's (at the request date); or
        price_missing."""
        when = fields.Date.to_date(inputs["request_time"])
        tier = pricing_tier(inputs)
        missing = {
            "price_missing": True,
            "price_id": False,
            "price_tier": tier if tier in dict(PRICE_TIERS) else "other",
        }
        found = self._price_or_catalogue(
            model_name,
            inputs,
            when,
            tier,
            usage.get("input_tokens") or 0,
        )
        if not found:
            return missing
        price_id, prices, currency_id, _how = found
        try:
            cost = compute_cost(usage, prices)
        except PriceMissing:
            # the row has no price for a kind of this usage (audio...)
            return dict(missing, price_id=price_id)
        cost_company = cost
        if currency_id != inputs["company_currency_id"]:
            currencies = self.env["res.currency"]
            cost_company = currencies.browse(currency_id)._convert(
                cost,
                currencies.browse(inputs["company_currency_id"]),
                self.env["res.company"].browse(inputs["company_id"]),
                when,
                round=False,
            )
        return {
            "price_missing": False,
            "price_id": price_id,
            "price_tier": missing["price_tier"],
            "price_input": prices["input"],
            "price_cached_input": prices["cached_input"],
            "price_output": prices["output"],
            "price_reasoning": prices["reasoning"],
            "cost": cost,
            "currency_id": currency_id,
            "cost_company": cost_company,
        }
