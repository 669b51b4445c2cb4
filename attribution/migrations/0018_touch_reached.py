"""How each touch was reached (`AttributionTouch.reached`), which the order page explains.

Added with one ALTER TABLE, not Django's SQLite table rebuild: the RevenueAttribution view reads
the table, and SQLite refuses to rename a rebuilt table under a view. Existing rows say nothing
(empty) until the next rebuild (`manage.py recalculate_attribution`, or the nightly one).
"""

from django.db import migrations, models

ADD = "ALTER TABLE attribution_attributiontouch ADD COLUMN reached varchar(12) NOT NULL DEFAULT ''"
DROP = "ALTER TABLE attribution_attributiontouch DROP COLUMN reached"


class Migration(migrations.Migration):
    dependencies = [
        ("attribution", "0017_dailyclicks_covering_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(ADD, DROP)],
            state_operations=[
                migrations.AddField(
                    model_name="attributiontouch",
                    name="reached",
                    field=models.CharField(
                        blank=True,
                        choices=[
                            (
                                "cookie",
                                "The click id this visitor's browser carried to checkout (osc_click)",
                            ),
                            ("kept", "A click id the storefront kept for this buyer (osc_clicks)"),
                            ("visitor", "An earlier click by the same visitor"),
                            ("customer", "A click by the same customer on another visit or device"),
                            ("product", "The coupon's post links to a product in the order"),
                            (
                                "distributed",
                                "The coupon's posts, none linking to a product in the order",
                            ),
                        ],
                        default="",
                        help_text="How the touch was reached (the order page explains it).",
                        max_length=12,
                    ),
                ),
            ],
        ),
    ]
