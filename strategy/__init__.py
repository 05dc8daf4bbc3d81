"""Data-sourcing strategy: should a task's training data come from people, from synthetic generation, or a mix?"""

from strategy.catalog import Catalog
from strategy.errors import CatalogError, ImportRejected, PermissionDenied, StrategyError, UnknownTask
from strategy.outcomes import log_outcome

__version__ = "0.1.0"
__all__ = ["Catalog", "CatalogError", "ImportRejected", "PermissionDenied", "StrategyError", "UnknownTask", "__version__", "log_outcome"]
