"""Problems found in input or in the timeline, collected and reported together.

Like Beancount's errors: each names where (line, event) and what (field, message);
a load with any problem stores nothing (SPEC.md §3) and exits with code 2 (§10).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    line: int
    event: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        field = f" field {self.field}:" if self.field else ":"
        return f"{where}{self.event}{field} {self.message}"


class LedgerError(Exception):
    """Bad input: the ledger was left unchanged. Carries every problem found."""

    exit_code = 2

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
