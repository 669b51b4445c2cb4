"""Removal effects become rows (RemovalEffect: one per post, campaign or platform key) instead of
a JSON object on AttributionState keyed by text ("123", "campaign:4", "platform:tiktok"). The
stored effects are carried over as they are, so data-driven credit reads the same figures."""

import django.db.models.deletion
from django.db import migrations, models


def _rows_from_json(apps, schema_editor):
    state_model = apps.get_model("attribution", "AttributionState")
    effect_model = apps.get_model("attribution", "RemovalEffect")
    rows = []
    for state in state_model.objects.exclude(removal_effects={}).iterator():
        for key, effect in (state.removal_effects or {}).items():
            row = effect_model(workspace_id=state.workspace_id, effect=float(effect))
            kind, _, value = key.partition(":")
            if key.isdigit():
                row.post_id = int(key)
            elif kind == "campaign":
                row.campaign_id = int(value)
            else:
                row.platform = value
            rows.append(row)
    effect_model.objects.bulk_create(rows, batch_size=2000)


class Migration(migrations.Migration):
    dependencies = [
        ("attribution", "0014_daily_revenue_cells"),
        ("omnisocial", "0004_api_key_scope"),
    ]

    operations = [
        migrations.CreateModel(
            name="RemovalEffect",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("platform", models.CharField(blank=True, default="", max_length=16)),
                ("effect", models.FloatField(help_text="The share of conversions lost when this key is removed from every path.")),
                ("campaign", models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="omnisocial.campaign")),
                ("post", models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="omnisocial.post")),
                ("workspace", models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="omnisocial.workspace")),
            ],
            options={
                "indexes": [models.Index(fields=["workspace", "post"], name="removaleffect_post")],
            },
        ),
        migrations.RunPython(_rows_from_json, migrations.RunPython.noop),
        migrations.RemoveField(model_name="attributionstate", name="removal_effects"),
    ]
