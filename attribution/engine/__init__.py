"""The attribution engine: from an order's journey to touch rows and rollups.

- `rows`: one order's credit under every model as touch rows (the money rules, in one place);
- `live`: re-attributing one order as it arrives or changes, and the safety net behind it;
- `rebuild`: a workspace's rows and rollups recomputed in bulk, one run at a time;
- `effects`: the data-driven model's removal effects.

The live path and the rebuild compute rows with the same function, so they always agree.
"""

from attribution.engine.live import order_attribute, orders_attribute_changed
from attribution.engine.rebuild import (
    ADVISORY_LOCK_NAMESPACE,
    RecalculationBusy,
    lease_release,
    rollups_rebuild,
    workspace_recalculate,
)

__all__ = [
    "ADVISORY_LOCK_NAMESPACE", "RecalculationBusy", "lease_release", "order_attribute",
    "orders_attribute_changed", "rollups_rebuild", "workspace_recalculate",
]  # fmt: skip
