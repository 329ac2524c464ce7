/**
 * What differs between Odoo 18.0 and 19.0 in the web client, for this
 * add-on, in one place (compat.py holds the server's differences).
 */
import { ListRenderer } from "@web/views/list/list_renderer";

/** The id of a many2one value: 18.0 reads [id, name], 19.0 {id, display_name}. */
export function many2oneId(value) {
    return Array.isArray(value) ? value[0] : value?.id;
}

/**
 * Make ``Renderer`` (a ListRenderer) pass its footer's aggregates through
 * ``adjust(renderer, aggregates)``: 19.0 computes them once per render in
 * computeAggregates(), 18.0 reads them through an ``aggregates`` getter.
 */
export function adjustListAggregates(Renderer, adjust) {
    const getter = Object.getOwnPropertyDescriptor(ListRenderer.prototype, "aggregates")?.get;
    if (getter) {
        Object.defineProperty(Renderer.prototype, "aggregates", {
            get() {
                return adjust(this, getter.call(this));
            },
        });
    } else {
        const compute = ListRenderer.prototype.computeAggregates;
        Renderer.prototype.computeAggregates = function () {
            return adjust(this, compute.call(this));
        };
    }
}
