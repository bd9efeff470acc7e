"""The account :func:`compat.migrate_config` gives of every field it read."""
from dataclasses import asdict, dataclass
from typing import Dict, Iterator, List, Optional

EXACT = 'exact'
APPROXIMATED = 'approximated'
UNSUPPORTED = 'unsupported'
STATUSES = (EXACT, APPROXIMATED, UNSUPPORTED)


@dataclass
class ReportEntry:
    """How one old config field was translated.

    Attributes:
        field: the old field (``'lr_config'``, ``'optimizer_config.grad_clip'``).
        status: ``'exact'``, ``'approximated'`` or ``'unsupported'``.
        detail: what it became, or why it could not.
        max_lr_diff: for schedules, the largest relative learning-rate
            difference from the old run measured over the whole run; None
            when not a schedule or not measured (the run length was unknown).
    """
    field: str
    status: str
    detail: str
    max_lr_diff: Optional[float] = None

    def __str__(self) -> str:
        diff = '' if self.max_lr_diff is None else \
            f' [max lr difference {self.max_lr_diff:.3g}]'
        return f'{self.status:<12} {self.field}: {self.detail}{diff}'


class MigrationReport:
    """Ordered entries, one or more per field of the old config."""

    def __init__(self) -> None:
        self.entries: List[ReportEntry] = []

    def add(self,
            field: str,
            status: str,
            detail: str,
            max_lr_diff: Optional[float] = None) -> None:
        if status not in STATUSES:
            raise ValueError(f'unknown report status {status!r}')
        self.entries.append(ReportEntry(field, status, detail, max_lr_diff))

    def exact(self, field: str, detail: str,
              max_lr_diff: Optional[float] = None) -> None:
        self.add(field, EXACT, detail, max_lr_diff)

    def approximated(self, field: str, detail: str,
                     max_lr_diff: Optional[float] = None) -> None:
        self.add(field, APPROXIMATED, detail, max_lr_diff)

    def unsupported(self, field: str, detail: str) -> None:
        self.add(field, UNSUPPORTED, detail)

    def __iter__(self) -> Iterator[ReportEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def fields(self, status: Optional[str] = None) -> List[str]:
        """Fields with ``status`` (all when None), in order, once each."""
        seen: List[str] = []
        for e in self.entries:
            if (status is None or e.status == status) and e.field not in seen:
                seen.append(e.field)
        return seen

    def get(self, field: str) -> List[ReportEntry]:
        return [e for e in self.entries if e.field == field]

    def status_of(self, field: str) -> Optional[str]:
        """The worst status recorded for ``field`` (None if absent)."""
        statuses = {e.status for e in self.get(field)}
        for status in (UNSUPPORTED, APPROXIMATED, EXACT):
            if status in statuses:
                return status
        return None

    def counts(self) -> Dict[str, int]:
        return {s: sum(e.status == s for e in self.entries) for s in STATUSES}

    def to_dict(self) -> List[dict]:
        return [asdict(e) for e in self.entries]

    def to_text(self) -> str:
        counts = self.counts()
        head = ', '.join(f'{n} {s}' for s, n in counts.items())
        return '\n'.join([f'migration report: {head}'] +
                         [f'  {e}' for e in self.entries])

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return f'<MigrationReport {self.counts()}>'
