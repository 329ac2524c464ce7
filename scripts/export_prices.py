"""Write data/ai_model_price_data.xml, the prices shipped with the add-on,
from the genai-prices catalogue (pip install genai-prices): the dated rows of
the models listed here, of every tier, exact names, USD per 1M tokens. Run it when the
catalogue changes, and commit the file; installed databases get new rows
with "Update Prices" or the weekly scheduled action."""

import importlib.util
import os
from xml.sax.saxutils import escape

SHIPPED_MODELS = (
    "gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano",
    "gpt-4o", "gpt-4o-mini", "o3", "o3-mini", "o4-mini", "text-embedding-3-small",
    "text-embedding-3-large",
)  # fmt: skip
ALWAYS_WRITTEN = ("input_price", "cached_input_price", "output_price")
HERE = os.path.dirname(os.path.abspath(__file__))


def load_catalogue():
    path = os.path.join(HERE, "..", "tools", "price_catalogue.py")
    spec = importlib.util.spec_from_file_location("price_catalogue", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    catalogue = load_catalogue()
    version = catalogue.version()
    if not version:
        raise SystemExit("genai-prices is not installed: pip install genai-prices")
    records = []
    for name in SHIPPED_MODELS:
        rows = sorted(
            catalogue.rows_for(name),
            key=lambda row: (row["price_tier"] != "standard", row["date_from"]),
        )
        if not rows:
            raise SystemExit(f"the catalogue has no price a row can hold for {name}")
        for index, row in enumerate(rows):
            xml_id = "price_" + name.replace("-", "_").replace(".", "_")
            if row["price_tier"] != "standard":
                xml_id += "_" + row["price_tier"]
            if index:
                xml_id += "_" + row["date_from"].strftime("%Y%m%d")
            if row["min_input_tokens"]:
                xml_id += f"_above_{row['min_input_tokens']}"
            fields = [
                ("min_input_tokens", row["min_input_tokens"]),
                *((f"{value}_price", row[value]) for value in catalogue.ROW_VALUES),
            ]
            values = "".join(
                f'\n        <field name="{field}">{value}</field>'
                for field, value in fields
                if value or field in ALWAYS_WRITTEN
            )
            records.append(
                f"""    <record id="{xml_id}" model="ai.model.price">
        <field name="model_name">{escape(name)}</field>
        <field name="match_type">exact</field>
        <field name="price_tier">{row["price_tier"]}</field>
        <field name="date_from">{row["date_from"].isoformat()}</field>{values}
        <field name="currency_id" ref="base.USD"/>
        <field name="source">genai-prices {version}</field>
    </record>"""
            )
    body = "\n".join(records)
    path = os.path.join(HERE, "..", "data", "ai_model_price_data.xml")
    with open(path, "w", encoding="utf-8") as data:
        data.write(
            f"""<?xml version="1.0" encoding="utf-8"?>
<!-- OpenAI list prices (USD per 1M tokens, by tier) from genai-prices {version},
     written by scripts/export_prices.py. noupdate: an administrator's corrections are
     never overwritten on upgrade. -->
<odoo noupdate="1">
{body}
</odoo>
"""
        )
    models = len(SHIPPED_MODELS)
    print(f"{len(records)} prices of {models} models from genai-prices {version}")


if __name__ == "__main__":
    main()
