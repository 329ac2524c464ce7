import { Component } from "@odoo/owl";
import { getCurrency } from "@web/core/currency";
import { localization } from "@web/core/l10n/localization";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { formatFloat } from "@web/core/utils/numbers";
import { session } from "@web/session";
import { standardFieldProps } from "@web/views/fields/standard_field_props";

/**
 * A cost as people read it: 2 decimals from one unit up, else about 4
 * significant ones (0.01121, 0.00013), never more than the 8 stored;
 * with the currency's symbol when one is given. Empty stays empty: an
 * unknown cost is not zero.
 */
export function formatAiCost(value, currency = null) {
    if (value === false || value === null || value === undefined) {
        return "";
    }
    const size = Math.abs(value);
    let digits = 2;
    if (size && size < 1) {
        digits = Math.min(8, Math.max(2, 3 - Math.floor(Math.log10(size))));
    }
    let text = formatFloat(value, { digits: [16, digits] });
    const point = localization.decimalPoint;
    if (digits > 2 && text.includes(point)) {
        const [whole, decimals] = text.split(point);
        text = `${whole}${point}${decimals.replace(/0+$/, "").padEnd(2, "0")}`;
    }
    if (!currency) {
        return text;
    }
    return currency.position === "after"
        ? `${text}\u00a0${currency.symbol}`
        : `${currency.symbol}\u00a0${text}`;
}

/** The id of a record's currency field (18.0 reads [id, name], 19.0 {id}), or undefined. */
export function currencyIdOf(record, currencyField) {
    const value = currencyField && record.data[currencyField];
    return Array.isArray(value) ? value[0] : value?.id;
}

/** The currency (symbol, position) of a record's currency field, or null. */
export function currencyOf(record, currencyField) {
    const currencyId = currencyIdOf(record, currencyField);
    return currencyId ? getCurrency(currencyId) : null;
}

export class AiCostField extends Component {
    static template = "ai_usage_log.AiCostField";
    static props = { ...standardFieldProps, currencyField: { type: String, optional: true } };

    /** A float field reads 0 for an empty cost: the record says whether it is set. */
    get unpriced() {
        const record = this.props.record;
        return record.data.price_missing === true && !record.data[this.props.name];
    }

    get text() {
        const record = this.props.record;
        if (this.unpriced) {
            return _t("no price");
        }
        return formatAiCost(record.data[this.props.name], currencyOf(record, this.props.currencyField));
    }
}

registry.category("fields").add("ai_cost", {
    component: AiCostField,
    supportedTypes: ["float"],
    extractProps: ({ options }) => ({ currencyField: options.currency_field }),
});
// pivot measures: widget="ai_cost" for costs in the company currency (of the
// current company), widget="ai_cost_number" for others (the label says which)
registry
    .category("formatters")
    .add("ai_cost", (value) => formatAiCost(value, getCurrency(session.ai_usage_currency_id)))
    .add("ai_cost_number", (value) => formatAiCost(value));
