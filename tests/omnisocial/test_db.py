"""The hot paths' database helpers: lists as parameters, and the pipeline's writes and errors."""

import pytest
from django.db import IntegrityError, connection, transaction

from omnisocial.db import among, hot_cursor, pipelined
from omnisocial.models import Workspace
from tests.factories import WorkspaceFactory


def test_among_names_the_values_in_one_text_however_many(db):
    first, second, third = (WorkspaceFactory(name=f"Shop {n}") for n in range(3))

    def slugs(ids):
        condition, params = among("id", ids)
        with hot_cursor() as cursor:
            cursor.execute(f"SELECT slug FROM omnisocial_workspace WHERE {condition}", params)  # noqa: S608
            return sorted(row[0] for row in cursor.fetchall()), condition

    found, one = slugs([first.pk])
    assert found == [first.slug]
    found, two = slugs([first.pk, third.pk])
    assert found == sorted([first.slug, third.slug])
    assert slugs([]) == ([], "1 = 0")
    if connection.vendor == "postgresql":
        assert one == two == "id = ANY(%s)"


def test_a_pipelines_writes_land_and_its_errors_are_djangos(db):
    workspace = WorkspaceFactory(name="Before")
    with transaction.atomic():
        with pipelined(), hot_cursor() as cursor:
            # Nobody reads this one: it travels with the block's end.
            cursor.execute("UPDATE omnisocial_workspace SET name = %s WHERE id = %s",
                           ["After", workspace.pk])  # fmt: skip
        assert Workspace.objects.get(pk=workspace.pk).name == "After"
    with pytest.raises(IntegrityError), transaction.atomic(), pipelined(), hot_cursor() as cursor:
        cursor.execute("UPDATE omnisocial_workspace SET name = %s WHERE id = %s",
                       ["Lost", workspace.pk])  # fmt: skip
        cursor.execute("UPDATE omnisocial_workspace SET name = NULL WHERE id = %s",
                       [workspace.pk])  # fmt: skip
    # The failed transaction changed nothing.
    assert Workspace.objects.get(pk=workspace.pk).name == "After"
