import { Component, onWillStart, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { formatFloat } from "@web/core/utils/numbers";
import { Layout } from "@web/search/layout";
import { formatAiCost } from "../cost/ai_cost_field";

/**
 * AI Usage dashboard: today and this month at a glance. Every figure opens
 * the logs behind it.
 */
export class AiUsageDashboard extends Component {
    static template = "ai_usage_log.Dashboard";
    static props = ["*"];
    static components = { Layout };

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
        this.state = useState({ data: null });
        onWillStart(async () => {
            this.state.data = await this.orm.call("ai.usage.dashboard", "get_dashboard_data", []);
        });
    }

    formatCost(amount) {
        return formatAiCost(amount, this.state.data.currency);
    }

    formatChange(percent) {
        if (percent === null || percent === undefined) {
            return _t("no calls before");
        }
        return `${percent > 0 ? "+" : ""}${formatFloat(percent, { digits: [16, 1] })} %`;
    }

    /** Bar height (percent) of a trend day: by cost, or by calls when no day has a cost. */
    get trendScale() {
        const trend = this.state.data.trend;
        const maxCost = Math.max(...trend.map((day) => day.cost));
        const key = maxCost > 0 ? "cost" : "calls";
        const max = Math.max(...trend.map((day) => day[key]), 1e-12);
        return (day) => (100 * day[key]) / max;
    }

    formatInteger(value) {
        return formatFloat(value, { digits: [16, 0] });
    }

    /** A new service's form, for an administrator on a database without one. */
    createService() {
        this.action.doAction({
            type: "ir.actions.act_window",
            name: _t("New AI Service"),
            res_model: "ai.service",
            views: [[false, "form"]],
        });
    }

    /** Open the logs behind a figure: `opening` (from the server) holds its title, search facets and domain. */
    openLogs(opening) {
        this.action.doAction({
            type: "ir.actions.act_window",
            name: opening.title,
            res_model: "ai.usage.log",
            views: [
                [false, "list"],
                [false, "form"],
                [false, "pivot"],
                [false, "graph"],
            ],
            domain: opening.domain,
            context: opening.context,
        });
    }
}

registry.category("actions").add("ai_usage_log.dashboard", AiUsageDashboard);
