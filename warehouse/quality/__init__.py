"""Data-quality suites for the core tables (great-expectations, imported lazily)."""
from warehouse.quality.suites import CHECKS, Reference, TableChecks, core_tables, tables_of_source
from warehouse.quality.validate import CheckResult, TableReport, validate_table, validate_tables

__all__ = [
    "CHECKS", "CheckResult", "Reference", "TableChecks", "TableReport",
    "core_tables", "tables_of_source", "validate_table", "validate_tables",
]
