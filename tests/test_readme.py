"""README.md renders as written: its code fences close where they should."""

import os

README = os.path.join(os.path.dirname(os.path.dirname(__file__)), "README.md")

from odoo.tests import BaseCase, tagged


@tagged("post_install", "-at_install")
class TestReadme(BaseCase):
    def test_code_fences_are_balanced_and_sections_are_headings(self):
        in_code = False
        headings, code_lines = [], []
        with open(README, encoding="utf-8") as readme:
            for line in readme:
                if line.lstrip().startswith("```"):
                    in_code = not in_code
                elif in_code:
                    code_lines.append(line)
                elif line.startswith("#"):
                    headings.append(line.strip())
        self.assertFalse(in_code, "a code fence is left open")
        for heading in ("### HTTP API", "### Prometheus metrics", "## Running it"):
            self.assertIn(heading, headings)
        numbered = [line for line in code_lines if line.startswith("# ")]
        for number in range(1, 9):
            self.assertTrue(
                any(line.startswith(f"# {number}.") for line in numbered),
                f"API item {number} is inside the code block",
            )
