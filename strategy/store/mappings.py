"""The run mappings table: how runs of a tracker map onto outcomes, kept per source and name (an experiment, a
project, a file). Saving appends; the newest row of a pair is the mapping in force, so earlier ones stay as
history (and in the audit log).

A mixin of strategy.catalog.Catalog: it uses the catalog's mechanism (cursor, transaction, acting, audit)."""

from __future__ import annotations

import pandas as pd

from strategy.access import Permission
from strategy.models import utc_now
from strategy.store.mechanism import retrying
from strategy.store.schema import ENTITY
from strategy.trackers.runs import RunMapping, SavedMapping


class MappingStore:
    """Reads and writes of the run mappings table."""

    @retrying
    def save_run_mapping(self, source: str, name: str, mapping: RunMapping, *, actor: str | None = None) -> SavedMapping:
        actor = self.acting(Permission.LOG_OUTCOMES, actor=actor)
        saved = SavedMapping(source=source, name=name, mapping_json=mapping.model_dump_json(),
                             created_by=actor, created_at=utc_now())
        with self.transaction() as cur:
            self.append_frame(cur, "run_mappings", pd.DataFrame([saved.model_dump()]))
            self.audit(cur, actor, "save", ENTITY["run_mappings"], [saved.id],
                       {"source": source, "name": name, "mapping": mapping.described()})
        return saved

    def run_mapping(self, source: str, name: str = "") -> RunMapping | None:
        """The mapping in force for this source and name, else the source's own (saved under no name)."""
        with self.cursor() as cur:
            row = cur.execute(
                "SELECT mapping_json FROM run_mappings WHERE source = ? AND name IN (?, '') "
                "ORDER BY (name = ?) DESC, created_at DESC, id DESC LIMIT 1", [source, name, name]).fetchone()
        return RunMapping.model_validate_json(row[0]) if row else None

    def run_mappings(self) -> pd.DataFrame:
        """The mapping in force for each source and name, newest first."""
        with self.cursor() as cur:
            return cur.execute(
                "SELECT source, name, mapping_json, created_by, created_at FROM run_mappings "
                "QUALIFY row_number() OVER (PARTITION BY source, name ORDER BY created_at DESC, id DESC) = 1 "
                "ORDER BY created_at DESC").df()
