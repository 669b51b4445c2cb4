"""Named signals of the shared core, sent explicitly by its services after commit."""

from django.dispatch import Signal

workspace_settings_changed = Signal()
"""A workspace's attribution settings changed (revenue basis, lookback window, models kept) or
its time zone (every day boundary moves).

Arguments: `workspace` (the Workspace, as saved) and `changed` (the names of the fields that
changed). Attribution listens and rebuilds the workspace's rows under the new settings."""

workspace_rows_deleted = Signal()
"""Rows of a workspace were deleted in a way the rollups do not follow by themselves (a campaign:
its posts' attribution rows lose their campaign). Arguments: `workspace_ids` (a set). Attribution
listens and rebuilds those workspaces' rollups."""
