"""Everything DuckDB: migrations, SQL models, the Warehouse class, data-quality suites. No Prefect here."""
from warehouse.warehouse import (
    Batch,
    LoadCounts,
    Rejected,
    Warehouse,
    WarehouseBusyError,
    WarehouseError,
    WarehouseMissingError,
)

__all__ = ["Batch", "LoadCounts", "Rejected", "Warehouse", "WarehouseBusyError", "WarehouseError", "WarehouseMissingError"]
