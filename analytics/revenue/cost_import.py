"""Importing posts' cost and platform figures: the page (a CSV previewed, then saved) and
`POST /api/post-metrics` (the same rows as JSON, in batches).

They live here, above commerce, because spend in another currency is converted with the
workspace's exchange rates (commerce's `RateBook`, the rates orders are converted with), which
omnisocial's import (`omnisocial.metrics_import`) takes as a function passed down.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.views.generic import TemplateView
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from commerce.services.rates import RateBook
from omnisocial import metrics_import
from omnisocial.models import MetricsSource, Workspace
from omnisocial.tenancy import WorkspaceAPIMixin, WorkspaceViewMixin

# A file above this goes to the API in batches: the preview carries the file's text back to the
# save in the form, and Django refuses form fields past DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB).
UPLOAD_MAX_BYTES = 2_000_000
PREVIEW_ROWS = 20


def rates_of(workspace: Workspace):
    """The workspace's exchange rates to its reporting currency, as orders are converted."""
    return RateBook(workspace.reporting_currency, workspace).rate


class MetricsFileForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="GA4 cost data (date, utm_source, utm_medium, utm_campaign, utm_content, "
        "impressions, clicks, cost) or per post (reference, date, impressions, reach, "
        "engagements, link_clicks, spend); optional currency column.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > UPLOAD_MAX_BYTES:
            raise ValidationError(
                f"The file is {upload.size:,} bytes; the page takes up to {UPLOAD_MAX_BYTES:,}. "
                "Split it, or send its rows to POST /api/post-metrics."
            )
        return upload.read()


class MetricsImportView(WorkspaceViewMixin, TemplateView):
    """Posts › Import metrics (/posts/metrics/import/): upload a CSV, see every bad row and
    why and what saving would change, then save the good rows. Nothing is stored before the
    save; the same file saved again changes nothing."""

    template_name = "omnisocial/metrics_import.html"

    def get_context_data(self, **kwargs):
        kwargs.setdefault("form", MetricsFileForm())
        return super().get_context_data(
            currency=self.workspace.reporting_currency, upload_max=UPLOAD_MAX_BYTES, **kwargs
        )

    def post(self, request, *args, **kwargs):
        if "content" in request.POST:
            return self._save(request.POST["content"].encode())
        form = MetricsFileForm(request.POST, request.FILES)
        if not form.is_valid():
            return self._answer(status=400, form=form)
        return self._preview(form.cleaned_data["file"])

    def _read(self, content: bytes) -> metrics_import.ImportRows:
        records = metrics_import.csv_records(content)
        # Row numbers are the file's line numbers: the header is line 1.
        return metrics_import.rows_read(
            workspace=self.workspace, records=records, rates=rates_of(self.workspace), first=2
        )

    def _preview(self, content: bytes):
        try:
            found = self._read(content)
        except ValidationError as exc:
            return self._answer(status=400, file_errors=exc.messages)
        result = metrics_import.rows_preview(
            workspace=self.workspace, found=found, source=MetricsSource.CSV
        )
        posts = self.workspace.posts.in_bulk({row.post_id for row in found.rows[:PREVIEW_ROWS]})
        sample = [(number, row, posts[row.post_id]) for number, row in
                  zip(found.numbers[:PREVIEW_ROWS], found.rows, strict=False)]  # fmt: skip
        return self._answer(
            status=200 if not found.errors else 400, found=found, result=result, sample=sample,
            content=content.decode("utf-8-sig"),
        )  # fmt: skip

    def _save(self, content: bytes):
        try:
            found = self._read(content)
        except ValidationError as exc:
            return self._answer(status=400, file_errors=exc.messages)
        result = metrics_import.rows_save(
            workspace=self.workspace, found=found, source=MetricsSource.CSV
        )
        skipped = f"; {len(found.errors)} bad rows left out" if found.errors else ""
        messages.success(
            self.request,
            f"Saved {len(found.rows)} rows: {result.created} new, {result.updated} changed, "
            f"{result.unchanged} unchanged{skipped}.",
        )
        return redirect("post-metrics-import")

    def _answer(self, *, status: int, **context):
        response = self.render_to_response(self.get_context_data(**context))
        response.status_code = status
        return response


# --- the API -------------------------------------------------------------------------------------


class MetricsRowInput(serializers.Serializer):
    """One post's figures for one day. Name the post by `reference` (or `utmContent`, as GA4's
    cost data does); give at least one figure. A figure left out keeps what is stored."""

    reference = serializers.CharField(required=False, help_text="The post's reference.")
    utmContent = serializers.CharField(required=False, help_text="Same as reference.")
    date = serializers.DateField(help_text="The day, in the workspace's time zone.")
    impressions = serializers.IntegerField(required=False, min_value=0)
    reach = serializers.IntegerField(required=False, min_value=0)
    engagements = serializers.IntegerField(required=False, min_value=0)
    linkClicks = serializers.IntegerField(required=False, min_value=0)
    spend = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, min_value=0,
        help_text="In `currency`: converted to the reporting currency at the day's rate.",
    )  # fmt: skip
    currency = serializers.CharField(
        required=False, help_text="The spend's currency; the reporting currency when absent."
    )


class MetricsBatchInput(serializers.Serializer):
    rows = MetricsRowInput(many=True, help_text=f"1 to {metrics_import.API_BATCH_MAX:,} rows.")


class MetricsBatchOutput(serializers.Serializer):
    created = serializers.IntegerField(help_text="Post days that had no figures before.")
    updated = serializers.IntegerField(help_text="Post days whose figures changed.")
    unchanged = serializers.IntegerField(help_text="Post days already holding these figures.")


# The body is the API's error shape (omnisocial/api_errors.py).
BATCH_REFUSED = OpenApiResponse(
    description="Nothing was saved: `fields` names every bad row as `rows.<position from 0>` "
    "with its reasons, or `detail` says what is wrong with the batch."
)


def row_errors(errors: list[dict]) -> ValidationError:
    """Each bad row under its position in `rows`, in the API's error shape."""
    return ValidationError({f"rows.{error['row']}": error["reasons"] for error in errors})


class PostMetricsImportApi(WorkspaceAPIMixin, APIView):
    """POST /api/post-metrics: posts' daily figures and spend, in batches (a write key)."""

    @extend_schema(
        request=MetricsBatchInput,
        responses={200: MetricsBatchOutput, 400: BATCH_REFUSED},
        examples=[
            OpenApiExample(
                "Two days of a post",
                request_only=True,
                value={
                    "rows": [
                        {
                            "reference": "post-17",
                            "date": "2026-11-09",
                            "impressions": 4000,
                            "reach": 3100,
                            "engagements": 210,
                            "linkClicks": 88,
                            "spend": "12.50",
                            "currency": "EUR",
                        },
                        {"reference": "post-17", "date": "2026-11-10", "impressions": 2500},
                    ]
                },
            ),  # fmt: skip
        ],
    )
    def post(self, request):
        """Stores the rows all or nothing: one bad row answers 400 naming every bad row and
        why, and nothing is saved. The same batch again changes nothing."""
        rows = request.data.get("rows") if isinstance(request.data, dict) else None
        if not isinstance(rows, list) or not rows:
            raise ValidationError('Send {"rows": [...]}: a list of 1 or more rows.')
        if len(rows) > metrics_import.API_BATCH_MAX:
            raise ValidationError(
                f"{len(rows):,} rows: send at most {metrics_import.API_BATCH_MAX:,} a batch."
            )
        errors = [{"row": n, "reasons": ["not an object"]}
                  for n, row in enumerate(rows) if not isinstance(row, dict)]  # fmt: skip
        if errors:
            raise row_errors(errors)
        found = metrics_import.rows_read(
            workspace=self.workspace, records=rows, rates=rates_of(self.workspace), first=0
        )
        if found.errors:
            raise row_errors(found.errors)
        result = metrics_import.rows_save(
            workspace=self.workspace, found=found, source=MetricsSource.API
        )
        return Response(result.as_dict())
