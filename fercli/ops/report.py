"""The base of what ``ops.run_*`` return: a typed report whose fields are the summary the
command prints (``to_dict`` is its ``--json``). Item access (``report["faces"]``) reads the
same fields, for scripts written against the plain dicts earlier versions returned."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass
class Report:
    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]
