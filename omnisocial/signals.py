"""Named signals of the shared core, sent explicitly by its services: after commit, except
`post_saved`, whose listener's work the same request shows (see its docstring)."""

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

post_saved = Signal()
"""A post was created or changed through `services.post_save` (every path: pages, API, admin,
demo data, platform syncs).

Arguments: `post` (the Post, as saved, with its reference). Sent inside the save's transaction,
not after commit: the post pages and the posts API answer with the post's tracked links right
after the save, so they must exist by then, and a failed listener rolls the save back rather than
leaving a post whose links were never tagged. Attribution listens and tags every URL of the
caption and the link field, leaving what it did on `post.tagging` (`links`, and `refused`: the
(url, reason) pairs it left untagged)."""
