import { registry } from "@web/core/registry";
import { ProgressBarField, progressBarField } from "@web/views/fields/progress_bar/progress_bar_field";

/** A budget's use: orange past its warning threshold, red at its limit. */
export class AiBudgetProgressField extends ProgressBarField {
    get progressBarColorClass() {
        const warning = this.props.record.data.warning_percent;
        if (this.currentValue >= 100) {
            return "bg-danger";
        }
        return warning && this.currentValue >= warning ? "bg-warning" : "bg-success";
    }
}

registry.category("fields").add("ai_budget_progress", {
    ...progressBarField,
    component: AiBudgetProgressField,
});
