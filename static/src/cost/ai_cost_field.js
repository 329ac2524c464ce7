import { Component } from "@odoo/owl";
import { getCurrency } from "@web/core/currency";
import { localization } from "@web/core/l10n/localization";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { formatFloat } from "@web/core/utils/numbers";
import { session } from "@web/session";
import { standardFieldProps } from "@web/views/fields/standard_field_props";
import { many2oneId } from "../compat";

/**
 * A cost as people read it: 2 decimals from one unit up, else about 4
 * significant ones (0.01121, 0.0001300), never more than the 8 stored; a
 * cost's decimals follow its size alone, so two costs of one size read with
 * the same decimals. With the currency's symbol when one is given ({symbol,
 * position}). Empty stays empty: an unknown cost is not zero.
 */
export function formatAiCost(value, currency = null) {
    if (value === false || value === null || value === undefined) {
        return "";
    }
    const size = Math.abs(value);
    let digits = 2;
    if (size && size < 1) {
        digits = Math.min(8, Math.max(4, 3 - Math.floor(Math.log10(size))));
    }
    return withSymbol(formatFloat(value, { digits: [16, digits] }), currency);
}

/**
 * A price per 1M tokens (or per minute, per 1M characters) as the price
 * list states it: 0.15, 0.075, 2.50 (at least 2 decimals, at most the 6
 * stored, no trailing zeros past 2), with the currency's symbol.
 */
export function formatAiPrice(value, currency = null) {
    if (value === false || value === null || value === undefined) {
        return "";
    }
    let text = formatFloat(value, { digits: [16, 6] });
    const point = localization.decimalPoint;
    if (text.includes(point)) {
        const [whole, decimals] = text.split(point);
        text = `${whole}${point}${decimals.replace(/0+$/, "").padEnd(2, "0")}`;
    }
    return withSymbol(text, currency);
}

function withSymbol(text, currency) {
    if (!currency) {
        return text;
    }
    return currency.position === "after"
        ? `${text}\u00a0${currency.symbol}`
        : `${currency.symbol}\u00a0${text}`;
}

/** The id of a record's currency field, or undefined. */
export function currencyIdOf(record, currencyField) {
    return currencyField ? many2oneId(record.data[currencyField]) : undefined;
}

/** The currency (symbol, position) of a record's currency field, or null. */
export function currencyOf(record, currencyField) {
    const currencyId = currencyIdOf(record, currencyField);
    return currencyId ? getCurrency(currencyId) : null;
}

export class AiCostField extends Component {
    static template = "ai_usage_log.AiCostField";
    static props = {
        ...standardFieldProps,
        currencyField: { type: String, optional: true },
        usd: { type: Boolean, optional: true },
    };

    /** A float field reads 0 for an empty cost: the record says whether it is set. */
    get unpriced() {
        const record = this.props.record;
        return record.data.price_missing === true && !record.data[this.props.name];
    }

    get currency() {
        return this.props.usd ? usd() : currencyOf(this.props.record, this.props.currencyField);
    }

    get text() {
        if (this.unpriced) {
            return _t("no price");
        }
        return formatAiCost(this.props.record.data[this.props.name], this.currency);
    }
}

/** US dollars, in which providers bill (the reconciliation's amounts). */
function usd() {
    return session.ai_usage_usd;
}

/** The company's currency (of the current company), in which reports sum costs. */
function companyCurrency() {
    return getCurrency(session.ai_usage_currency_id);
}

const costField = {
    component: AiCostField,
    supportedTypes: ["float"],
    extractProps: ({ options }) => ({ currencyField: options.currency_field }),
};
registry
    .category("fields")
    .add("ai_cost", costField)
    .add("ai_cost_usd", { ...costField, extractProps: () => ({ usd: true }) });
// what the list's footers and group rows and the pivot show for a field of
// that widget: ai_cost sums costs in the company currency, ai_cost_usd in
// US dollars
registry
    .category("formatters")
    .add("ai_cost", (value) => formatAiCost(value, companyCurrency()))
    .add("ai_cost_usd", (value) => formatAiCost(value, usd()));
