"""Attribution rows become touch rows: one row per order touch with every model's weight and
credit in columns (AttributionTouch), and one per refund and touch (RefundTouch). The documented
per-model rows, RevenueAttribution and RefundAttribution, become read-only views over them: the
same columns, names and values, so nothing that reads them changes. Existing rows are carried
over as they are (no recalculation needed). Not reversible: go back by restoring a backup.
"""

import django.db.models.deletion
from django.db import migrations, models

# The models and their column suffixes as of this migration (attribution.models.MODEL_COLUMNS).
MODELS = [
    ("first-touch", "first"), ("last-touch", "last"), ("multi-touch", "multi"),
    ("position-based", "position"), ("time-decay", "decay"), ("data-driven", "data"),
]  # fmt: skip
TOUCH = "attribution_attributiontouch"
REFUND_TOUCH = "attribution_refundtouch"
SALES = "attribution_revenueattribution"
REFUNDS = "attribution_refundattribution"
KEYS = "workspace_id, order_id, position"
TOUCH_FIELDS = (
    "post_id, campaign_id, platform, click_id, touched_at, matched_field, matched_value, currency,"
    " order_day"
)
SALE_FIGURES = [("weight", "attribution_weight"), ("gross", "gross_revenue"),
                ("refunded", "refunded"), ("revenue", "revenue"), ("units", "units")]  # fmt: skip


def _pick(model: str, column: str) -> str:
    return f"MAX(CASE WHEN attribution_model = '{model}' THEN {column} END)"


COPY_SALES = f"""
INSERT INTO {TOUCH} ({KEYS}, {TOUCH_FIELDS}, data_fallback,
    {", ".join(f"{figure}_{suffix}" for _, suffix in MODELS for figure, _ in SALE_FIGURES)})
SELECT {KEYS}, {", ".join(f"MAX({f.strip()})" for f in TOUCH_FIELDS.split(","))},
    MAX(CASE WHEN attribution_model = 'data-driven' AND is_fallback THEN 1 ELSE 0 END) = 1,
    {", ".join(_pick(model, column) for model, _ in MODELS for _, column in SALE_FIGURES)}
FROM {SALES} GROUP BY {KEYS}
"""
COPY_REFUNDS = f"""
INSERT INTO {REFUND_TOUCH} (workspace_id, order_id, refund_id, position, post_id, campaign_id,
    platform, day, {", ".join(f"amount_{suffix}" for _, suffix in MODELS)})
SELECT workspace_id, order_id, refund_id, position, MAX(post_id), MAX(campaign_id),
    MAX(platform), MAX(day), {", ".join(_pick(model, "amount") for model, _ in MODELS)}
FROM {REFUNDS} GROUP BY workspace_id, order_id, refund_id, position
"""


def _sales_branch(n: int, model: str, suffix: str) -> str:
    fallback = "data_fallback" if model == "data-driven" else "FALSE"
    return f"""SELECT id * 8 + {n} AS id, {KEYS}, '{model}' AS attribution_model, {TOUCH_FIELDS},
        weight_{suffix} AS attribution_weight, gross_{suffix} AS gross_revenue,
        refunded_{suffix} AS refunded, revenue_{suffix} AS revenue, units_{suffix} AS units,
        {fallback} AS is_fallback
    FROM {TOUCH} WHERE weight_{suffix} IS NOT NULL"""


def _refunds_branch(n: int, model: str, suffix: str) -> str:
    return f"""SELECT id * 8 + {n} AS id, workspace_id, order_id, refund_id,
        '{model}' AS attribution_model, position, post_id, campaign_id, platform, day,
        amount_{suffix} AS amount
    FROM {REFUND_TOUCH} WHERE amount_{suffix} IS NOT NULL"""


# One branch per model: a query for one model reads one branch (the others' constant model
# names cannot match), and every branch uses the touch tables' indexes.
VIEWS = [
    f"DROP TABLE {SALES}",
    f"DROP TABLE {REFUNDS}",
    f"CREATE VIEW {SALES} AS "
    + " UNION ALL ".join(_sales_branch(n, m, s) for n, (m, s) in enumerate(MODELS, 1)),
    f"CREATE VIEW {REFUNDS} AS "
    + " UNION ALL ".join(_refunds_branch(n, m, s) for n, (m, s) in enumerate(MODELS, 1)),
]


def _projected(to, **options):
    return models.ForeignKey(
        on_delete=django.db.models.deletion.DO_NOTHING, db_constraint=False, db_index=False,
        to=to, **options,
    )  # fmt: skip


class Migration(migrations.Migration):
    dependencies = [
        ("attribution", "0010_credited_orders_are_weights"),
        ("commerce", "0006_delivery_fewer_indexes"),
        ("omnisocial", "0004_api_key_scope"),
    ]

    operations = [
        migrations.CreateModel(
            name="AttributionTouch",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "position",
                    models.PositiveSmallIntegerField(help_text="The touch's place in the journey."),
                ),
                ("platform", models.CharField(blank=True, default="", max_length=16)),
                ("touched_at", models.DateTimeField()),
                (
                    "matched_field",
                    models.CharField(
                        choices=[
                            ("clickId", "Click id"),
                            ("utmContent", "utm_content"),
                            ("utmCampaign", "utm_campaign"),
                            ("couponCode", "Coupon code"),
                            ("utmSource", "utm_source"),
                            ("referrerUrl", "Referrer"),
                        ],
                        max_length=16,
                    ),
                ),
                ("matched_value", models.CharField(max_length=200)),
                ("currency", models.CharField(max_length=3)),
                (
                    "order_day",
                    models.DateField(help_text="The order's day in the workspace's time zone."),
                ),
                (
                    "data_fallback",
                    models.BooleanField(
                        default=False,
                        help_text="Data-driven weights fell back to multi-touch: too little data.",
                    ),
                ),
                ("weight_first", models.DecimalField(decimal_places=6, max_digits=7, null=True)),
                ("gross_first", models.DecimalField(decimal_places=2, max_digits=14, null=True)),
                ("refunded_first", models.DecimalField(decimal_places=2, max_digits=14, null=True)),
                ("revenue_first", models.DecimalField(decimal_places=2, max_digits=14, null=True)),
                ("units_first", models.DecimalField(decimal_places=6, max_digits=12, null=True)),
                ("weight_last", models.DecimalField(decimal_places=6, max_digits=7, null=True)),
                ("gross_last", models.DecimalField(decimal_places=2, max_digits=14, null=True)),
                ("refunded_last", models.DecimalField(decimal_places=2, max_digits=14, null=True)),
                ("revenue_last", models.DecimalField(decimal_places=2, max_digits=14, null=True)),
                ("units_last", models.DecimalField(decimal_places=6, max_digits=12, null=True)),
                ("weight_multi", models.DecimalField(decimal_places=6, max_digits=7, null=True)),
                ("gross_multi", models.DecimalField(decimal_places=2, max_digits=14, null=True)),
                ("refunded_multi", models.DecimalField(decimal_places=2, max_digits=14, null=True)),
                ("revenue_multi", models.DecimalField(decimal_places=2, max_digits=14, null=True)),
                ("units_multi", models.DecimalField(decimal_places=6, max_digits=12, null=True)),
                ("weight_position", models.DecimalField(decimal_places=6, max_digits=7, null=True)),
                ("gross_position", models.DecimalField(decimal_places=2, max_digits=14, null=True)),
                (
                    "refunded_position",
                    models.DecimalField(decimal_places=2, max_digits=14, null=True),
                ),
                (
                    "revenue_position",
                    models.DecimalField(decimal_places=2, max_digits=14, null=True),
                ),
                ("units_position", models.DecimalField(decimal_places=6, max_digits=12, null=True)),
                ("weight_decay", models.DecimalField(decimal_places=6, max_digits=7, null=True)),
                ("gross_decay", models.DecimalField(decimal_places=2, max_digits=14, null=True)),
                ("refunded_decay", models.DecimalField(decimal_places=2, max_digits=14, null=True)),
                ("revenue_decay", models.DecimalField(decimal_places=2, max_digits=14, null=True)),
                ("units_decay", models.DecimalField(decimal_places=6, max_digits=12, null=True)),
                ("weight_data", models.DecimalField(decimal_places=6, max_digits=7, null=True)),
                ("gross_data", models.DecimalField(decimal_places=2, max_digits=14, null=True)),
                ("refunded_data", models.DecimalField(decimal_places=2, max_digits=14, null=True)),
                ("revenue_data", models.DecimalField(decimal_places=2, max_digits=14, null=True)),
                ("units_data", models.DecimalField(decimal_places=6, max_digits=12, null=True)),
                (
                    "campaign",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="omnisocial.campaign",
                    ),
                ),
                (
                    "click",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="attribution.click",
                    ),
                ),
                (
                    "order",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="touches",
                        to="commerce.commerceorder",
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
                    models.Index(fields=["workspace", "order_day"], name="touch_day"),
                    models.Index(fields=["post", "order_day"], name="touch_post_day"),
                ],
                "constraints": [
                    models.UniqueConstraint(fields=("order", "position"), name="touch_unique")
                ],
            },
        ),
        migrations.CreateModel(
            name="RefundTouch",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("position", models.PositiveSmallIntegerField()),
                ("platform", models.CharField(blank=True, default="", max_length=16)),
                ("day", models.DateField()),
                ("amount_first", models.DecimalField(decimal_places=2, max_digits=14, null=True)),
                ("amount_last", models.DecimalField(decimal_places=2, max_digits=14, null=True)),
                ("amount_multi", models.DecimalField(decimal_places=2, max_digits=14, null=True)),
                (
                    "amount_position",
                    models.DecimalField(decimal_places=2, max_digits=14, null=True),
                ),
                ("amount_decay", models.DecimalField(decimal_places=2, max_digits=14, null=True)),
                ("amount_data", models.DecimalField(decimal_places=2, max_digits=14, null=True)),
                (
                    "campaign",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="omnisocial.campaign",
                    ),
                ),
                (
                    "order",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="commerce.commerceorder",
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
                    "refund",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="commerce.refund",
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
                "indexes": [models.Index(fields=["workspace", "day"], name="refundtouch_day")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("refund", "position"), name="refundtouch_unique"
                    )
                ],
            },
        ),
        migrations.RunSQL(COPY_SALES),
        migrations.RunSQL(COPY_REFUNDS),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(sql) for sql in VIEWS],
            state_operations=[
                migrations.DeleteModel(name="RevenueAttribution"),
                migrations.DeleteModel(name="RefundAttribution"),
                migrations.CreateModel(
                    name="RevenueAttribution",
                    fields=[
                        ("id", models.BigIntegerField(primary_key=True, serialize=False)),
                        ("attribution_model", models.CharField(max_length=16)),
                        ("position", models.PositiveSmallIntegerField()),
                        ("platform", models.CharField(blank=True, default="", max_length=16)),
                        ("touched_at", models.DateTimeField()),
                        ("matched_field", models.CharField(max_length=16)),
                        ("matched_value", models.CharField(max_length=200)),
                        ("attribution_weight", models.DecimalField(decimal_places=6, max_digits=7)),
                        ("currency", models.CharField(max_length=3)),
                        ("gross_revenue", models.DecimalField(decimal_places=2, max_digits=14)),
                        (
                            "refunded",
                            models.DecimalField(decimal_places=2, default=0, max_digits=14),
                        ),
                        ("revenue", models.DecimalField(decimal_places=2, max_digits=14)),
                        ("units", models.DecimalField(decimal_places=6, default=0, max_digits=12)),
                        ("order_day", models.DateField()),
                        ("is_fallback", models.BooleanField(default=False)),
                        ("workspace", _projected("omnisocial.workspace", related_name="+")),
                        (
                            "order",
                            _projected("commerce.commerceorder", related_name="attributions"),
                        ),
                        (
                            "post",
                            _projected(
                                "omnisocial.post",
                                null=True,
                                blank=True,
                                related_name="attributions",
                            ),
                        ),
                        (
                            "campaign",
                            _projected(
                                "omnisocial.campaign", null=True, blank=True, related_name="+"
                            ),
                        ),
                        (
                            "click",
                            _projected(
                                "attribution.click", null=True, blank=True, related_name="+"
                            ),
                        ),
                    ],
                    options={
                        "db_table": "attribution_revenueattribution",
                        "managed": False,
                        "ordering": ["order_id", "attribution_model", "position"],
                    },
                ),
                migrations.CreateModel(
                    name="RefundAttribution",
                    fields=[
                        ("id", models.BigIntegerField(primary_key=True, serialize=False)),
                        ("attribution_model", models.CharField(max_length=16)),
                        ("position", models.PositiveSmallIntegerField()),
                        ("platform", models.CharField(blank=True, default="", max_length=16)),
                        ("day", models.DateField()),
                        ("amount", models.DecimalField(decimal_places=2, max_digits=14)),
                        ("workspace", _projected("omnisocial.workspace", related_name="+")),
                        ("order", _projected("commerce.commerceorder", related_name="+")),
                        ("refund", _projected("commerce.refund", related_name="+")),
                        (
                            "post",
                            _projected("omnisocial.post", null=True, blank=True, related_name="+"),
                        ),
                        (
                            "campaign",
                            _projected(
                                "omnisocial.campaign", null=True, blank=True, related_name="+"
                            ),
                        ),
                    ],
                    options={"db_table": "attribution_refundattribution", "managed": False},
                ),
            ],
        ),
    ]
