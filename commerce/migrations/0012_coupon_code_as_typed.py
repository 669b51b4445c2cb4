# Coupon codes are kept as typed and compare without case: the unique constraint moves from
# (workspace, code) to (workspace, LOWER(code)). Existing codes were stored lower-cased, so they
# already satisfy it and stay as they are. The new constraint is added before the old one goes,
# so the table is never without one.

from django.db import migrations, models
from django.db.models.functions import Lower


class Migration(migrations.Migration):
    dependencies = [
        ("commerce", "0011_order_shipping_tax_and_kept_clicks"),
        ("omnisocial", "0008_post_thumbnail"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="coupon",
            constraint=models.UniqueConstraint(
                models.F("workspace"),
                Lower("code"),
                name="coupon_unique_code_any_case",
                violation_error_code="code_taken",
                violation_error_message=(
                    "This workspace already has this coupon code, perhaps in another case: codes "
                    "match orders in any case, so SUMMER20 and summer20 are one code."
                ),
            ),
        ),
        migrations.RemoveConstraint(model_name="coupon", name="coupon_unique_code"),
        migrations.AlterModelOptions(name="coupon", options={"ordering": [Lower("code"), "pk"]}),
        migrations.AlterField(
            model_name="coupon",
            name="code",
            field=models.CharField(
                help_text="As typed; matched to orders in any case.", max_length=100
            ),
        ),
    ]
