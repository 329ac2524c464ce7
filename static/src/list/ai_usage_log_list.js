import { getCurrency } from "@web/core/currency";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { ListRenderer } from "@web/views/list/list_renderer";
import { listView } from "@web/views/list/list_view";
import { session } from "@web/session";
import { adjustListAggregates } from "../compat";
import { currencyIdOf, formatAiCost } from "../cost/ai_cost_field";

/** Whether a log's cost is unknown: no price, or a successful call without usage. */
function costUnknown(data) {
    return data.price_missing || (data.usage_state === "missing" && data.status === "success");
}

/**
 * The footer's Cost as Odoo sums a list, the calls shown (the page or the
 * selection), in the company currency as every report, but saying how many
 * calls of the sum have no known cost: a sum that silently counts them as 0
 * reads as a total it is not.
 */
function withUnknownCosts(renderer, aggregates) {
    const list = renderer.props.list;
    if (list.isGrouped && !list.selection.length) {
        return aggregates; // groups are summed over all their calls by the server
    }
    const records = list.selection.length ? list.selection : list.records;
    const unknown = records.filter((record) => costUnknown(record.data)).length;
    if (!aggregates.cost_company && !unknown) {
        return aggregates; // nothing to sum, nothing unknown
    }
    const currencyIds = new Set(records.map((record) => currencyIdOf(record, "company_currency_id")));
    currencyIds.delete(undefined);
    if (currencyIds.size > 1) {
        aggregates.cost_company = { help: _t("Costs in different currencies are not summed"), value: "—" };
        return aggregates;
    }
    const [currencyId] = currencyIds;
    const currency = getCurrency(currencyId || session.ai_usage_currency_id);
    const known = records.filter((record) => !costUnknown(record.data));
    const total = known.reduce((sum, record) => sum + (record.data.cost_company || 0), 0);
    let value = formatAiCost(total, currency);
    let help = _t("Sum of the %s calls shown", records.length);
    if (unknown) {
        // "+ 2 unknown" kept on one line when the cell wraps
        const more = _t("+ %s unknown", unknown).replaceAll(" ", "\u00a0");
        value = known.length ? `${value} ${more}` : _t("%s unknown", unknown);
        help = _t("Sum of the %(shown)s calls shown; %(count)s of them have no known cost and are not in it", {
            shown: records.length,
            count: unknown,
        });
    }
    aggregates.cost_company = { help, value };
    return aggregates;
}

export class AiUsageLogListRenderer extends ListRenderer {
    // an empty text group (no service tier, no error code): 18.0 names it "false"
    getGroupDisplayName(group) {
        if (group.groupByField.type === "char" && !group.value) {
            return _t("None");
        }
        return super.getGroupDisplayName(group);
    }
}
adjustListAggregates(AiUsageLogListRenderer, withUnknownCosts);

registry.category("views").add("ai_usage_log_list", {
    ...listView,
    Renderer: AiUsageLogListRenderer,
});
