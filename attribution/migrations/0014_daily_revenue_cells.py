"""DailyRevenue becomes cells: one row per (day, platform, campaign, post) with every model's
revenue, credited orders and units in columns (DailyRevenueCell), a sixth of the rows a rebuild
wrote. DailyRevenue becomes a read-only view over them with the same columns and values, so
nothing that reads it changes. Existing rows are carried over as they are. Not reversible: go
back by restoring a backup (or rebuild the rollups)."""

import django.db.models.deletion
from django.db import migrations, models

# The models and their column suffixes as of this migration (attribution.models.MODEL_COLUMNS).
MODELS = [
    ("first-touch", "first"), ("last-touch", "last"), ("multi-touch", "multi"),
    ("position-based", "position"), ("time-decay", "decay"), ("data-driven", "data"),
]  # fmt: skip
FIGURES = ("revenue", "orders", "units")
CELLS = "attribution_dailyrevenuecell"
DAILY = "attribution_dailyrevenue"
KEYS = "workspace_id, day, platform, campaign_id, post_id"

COPY = f"""
INSERT INTO {CELLS} ({KEYS}, {", ".join(f"{f}_{s}" for _, s in MODELS for f in FIGURES)})
SELECT {KEYS}, {
    ", ".join(
        f"SUM(CASE WHEN attribution_model = '{m}' THEN {f} END)" for m, _ in MODELS for f in FIGURES
    )
}
FROM {DAILY} GROUP BY {KEYS}
"""  # noqa: S608 - names only


def _branch(n: int, model: str, suffix: str) -> str:
    return f"""SELECT id * 8 + {n} AS id, workspace_id, '{model}' AS attribution_model, day,
        platform, campaign_id, post_id, revenue_{suffix} AS revenue, orders_{suffix} AS orders,
        units_{suffix} AS units
    FROM {CELLS} WHERE revenue_{suffix} IS NOT NULL"""  # noqa: S608 - names only


# One branch per model: a query for one model reads one branch (the others' constant model
# names cannot match), and every branch uses the cells' indexes.
VIEW = [
    f"DROP TABLE {DAILY}",
    f"CREATE VIEW {DAILY} AS "
    + " UNION ALL ".join(_branch(n, m, s) for n, (m, s) in enumerate(MODELS, 1)),
]


class Migration(migrations.Migration):
    dependencies = [
        ("attribution", "0013_derived_rollup_keys"),
        ("omnisocial", "0004_api_key_scope"),
    ]

    operations = [
        migrations.CreateModel(
            name="DailyRevenueCell",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField()),
                ("platform", models.CharField(blank=True, default="", max_length=16)),
                ("revenue_first", models.DecimalField(decimal_places=2, max_digits=14, null=True)),
                ("orders_first", models.DecimalField(decimal_places=6, max_digits=16, null=True)),
                ("units_first", models.DecimalField(decimal_places=2, max_digits=14, null=True)),
                ("revenue_last", models.DecimalField(decimal_places=2, max_digits=14, null=True)),
                ("orders_last", models.DecimalField(decimal_places=6, max_digits=16, null=True)),
                ("units_last", models.DecimalField(decimal_places=2, max_digits=14, null=True)),
                ("revenue_multi", models.DecimalField(decimal_places=2, max_digits=14, null=True)),
                ("orders_multi", models.DecimalField(decimal_places=6, max_digits=16, null=True)),
                ("units_multi", models.DecimalField(decimal_places=2, max_digits=14, null=True)),
                (
                    "revenue_position",
                    models.DecimalField(decimal_places=2, max_digits=14, null=True),
                ),
                (
                    "orders_position",
                    models.DecimalField(decimal_places=6, max_digits=16, null=True),
                ),
                ("units_position", models.DecimalField(decimal_places=2, max_digits=14, null=True)),
                ("revenue_decay", models.DecimalField(decimal_places=2, max_digits=14, null=True)),
                ("orders_decay", models.DecimalField(decimal_places=6, max_digits=16, null=True)),
                ("units_decay", models.DecimalField(decimal_places=2, max_digits=14, null=True)),
                ("revenue_data", models.DecimalField(decimal_places=2, max_digits=14, null=True)),
                ("orders_data", models.DecimalField(decimal_places=6, max_digits=16, null=True)),
                ("units_data", models.DecimalField(decimal_places=2, max_digits=14, null=True)),
                (
                    "campaign",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="omnisocial.campaign",
                    ),
                ),
                (
                    "post",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="omnisocial.post",
                    ),
                ),
                (
                    "workspace",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="omnisocial.workspace",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["workspace", "day"], name="drc_day"),
                    models.Index(fields=["post", "day"], name="drc_post_day"),
                ],
            },
        ),
        migrations.RunSQL(COPY, migrations.RunSQL.noop),
        migrations.RunSQL(VIEW, migrations.RunSQL.noop),
        migrations.AlterModelOptions(
            name="dailyrevenue",
            options={"managed": False, "verbose_name_plural": "daily revenue"},
        ),
        migrations.AlterModelTable(name="dailyrevenue", table="attribution_dailyrevenue"),
    ]
