import { Component, onWillStart, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { formatFloat } from "@web/core/utils/numbers";

/**
 * AI Usage dashboard: today and this month at a glance. Every figure opens
 * the logs behind it.
 */
export class AiUsageDashboard extends Component {
    static template = "ai_usage_log.Dashboard";
    static props = ["*"];

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
        this.state = useState({ data: null });
        onWillStart(async () => {
            this.state.data = await this.orm.call("ai.usage.report", "get_dashboard_data", []);
        });
    }

    formatCost(amount) {
        const { symbol, position } = this.state.data.currency;
        const digits = Math.abs(amount) < 1 ? 4 : 2;
        const value = formatFloat(amount, { digits: [16, digits] });
        return position === "before" ? `${symbol} ${value}` : `${value} ${symbol}`;
    }

    formatInteger(value) {
        return formatFloat(value, { digits: [16, 0] });
    }

    openLogs(domain, name) {
        this.action.doAction({
            type: "ir.actions.act_window",
            name: name || _t("Usage Logs"),
            res_model: "ai.usage.log",
            views: [
                [false, "list"],
                [false, "form"],
                [false, "pivot"],
                [false, "graph"],
            ],
            domain,
            context: {},
        });
    }
}

registry.category("actions").add("ai_usage_log.dashboard", AiUsageDashboard);
