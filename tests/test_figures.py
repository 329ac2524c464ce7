from odoo.tests import BaseCase, tagged

from ..tools.figures import cost_digits, format_cost, format_count


@tagged("post_install", "-at_install")
class TestFigures(BaseCase):
    """Costs in messages read as in the web client: about 4 significant
    decimals below one unit, 2 above, with the currency."""

    def test_cost_keeps_about_four_significant_decimals(self):
        self.assertEqual(format_cost(0.01121), "0.01121")
        self.assertEqual(format_cost(0.00013), "0.00013")
        self.assertEqual(format_cost(0.0048), "0.0048")
        self.assertEqual(format_cost(0.97271234), "0.9727")
        self.assertEqual(format_cost(0.5), "0.50")
        self.assertEqual(format_cost(0.000000019), "0.00000002", "8 decimals stored")
        self.assertEqual(format_cost(1234.5678), "1,234.57")
        self.assertEqual(format_cost(0.0), "0.00")
        self.assertEqual(cost_digits(0.01121), 5)

    def test_cost_with_its_currency_and_the_language_separators(self):
        self.assertEqual(format_cost(0.9727, "$"), "$\u00a00.9727")
        self.assertEqual(format_cost(1234.5, "€", "after", ",", "."), "1.234,50\u00a0€")

    def test_count_groups_thousands(self):
        self.assertEqual(format_count(754096), "754,096")
        self.assertEqual(format_count(754096, "\u202f"), "754\u202f096")
        self.assertEqual(format_count(12), "12")
