"""1.1: the shipped prices come from the genai-prices catalogue, with their
dated history (o3: 10 / 40 before 2025-06-10) and their tiers, and match
their exact model name only: a prefix row is one an administrator marks so,
and a model without a row is Missing Price, never priced as its family.

The rows 1.0 shipped (all valid from 2024-01-01) that an administrator never
edited take the catalogue's first standard price and date; edited ones keep
the administrator's values; the rows 1.1 adds are left as loaded. The logs
of 1.0, all priced at the standard rate, get that price tier."""

from odoo.addons.ai_usage_log.tools import price_catalogue


def migrate(cr, version):
    cr.execute(
        """
        UPDATE ai_model_price SET match_type = 'exact'
         WHERE id IN (SELECT res_id FROM ir_model_data
                       WHERE module = 'ai_usage_log' AND model = 'ai.model.price')
        """
    )
    cr.execute(
        """
        SELECT price.id, price.model_name
          FROM ai_model_price price
          JOIN ir_model_data data ON data.res_id = price.id
               AND data.module = 'ai_usage_log' AND data.model = 'ai.model.price'
         WHERE price.write_date <= price.create_date + interval '1 second'
           AND price.date_from = '2024-01-01' AND price.price_tier = 'standard'
        """
    )
    for price_id, model_name in cr.fetchall():
        standard = [
            row
            for row in price_catalogue.rows_for(model_name)
            if row["price_tier"] == "standard"
        ]
        if not standard:
            continue
        first = min(standard, key=lambda row: row["date_from"])
        cr.execute(
            """
            UPDATE ai_model_price
               SET date_from = %s, input_price = %s, cached_input_price = %s,
                   output_price = %s, source = %s
             WHERE id = %s
            """,
            [
                first["date_from"],
                first["input"],
                first["cached_input"],
                first["output"],
                f"genai-prices {price_catalogue.version()}",
                price_id,
            ],
        )
    # 1.0 priced every call at the standard rate: its logs say so
    cr.execute(
        """
        UPDATE ai_usage_log SET price_tier = 'standard'
         WHERE price_tier IS NULL AND usage_state IN ('reported', 'partial')
        """
    )
