import { registry } from "@web/core/registry";
import { FloatField, floatField } from "@web/views/fields/float/float_field";
import { currencyOf, formatAiPrice } from "./ai_cost_field";

/**
 * A price of the price list: read as "$ 0.15" or "$ 0.075" (its currency's
 * symbol, no six-decimal padding), edited as the plain number it is.
 */
export class AiPriceField extends FloatField {
    get formattedValue() {
        if (!this.props.readonly) {
            return super.formattedValue;
        }
        return formatAiPrice(this.value, currencyOf(this.props.record, "currency_id"));
    }
}

registry.category("fields").add("ai_price", { ...floatField, component: AiPriceField });
