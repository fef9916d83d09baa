"""Problems found in input or in the timeline, collected and reported together.

Like Beancount's errors: each names where (line, event; for a file of a package, the
file and the object) and what (field, message); a load with any problem stores nothing
(SPEC.md §3) and exits with code 2 (§10). There is one problem type for the whole
ledger: the core raises ``Rejected`` (field and message) where an event does not fit
the timeline, and whoever knows the line and the event turns it into a ``Problem``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    line: int
    event: str
    field: str
    message: str
    #: the file of a package the problem is in (Open Cap Format); ``event`` is then the
    #: object's id (or its place, or the file type for the file itself)
    file: str = ""

    @property
    def object_id(self) -> str:
        return self.event

    def __str__(self) -> str:
        if self.file:
            return f"{self.file} object {self.event} field {self.field}: {self.message}"
        where = f"line {self.line}: " if self.line else ""
        field = f" field {self.field}:" if self.field else ":"
        return f"{where}{self.event}{field} {self.message}"

    def to_json(self) -> dict[str, str | int]:
        out: dict[str, str | int] = {"line": self.line, "event": self.event,
                                     "field": self.field, "message": self.message}
        if self.file:
            out.update(file=self.file, object_id=self.event)
        return out


class Rejected(Exception):
    """Raised by the core where an event (or a what-if question) cannot apply: ``field``
    names the input field at fault, ``message`` says why and what would fit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message

    def at(self, line: int, event: str) -> Problem:
        return Problem(line, event, self.field, self.message)


class LedgerError(Exception):
    """Bad input: the ledger was left unchanged. Carries every problem found."""

    exit_code = 2

    def __init__(self, problems: list[Problem], omitted: int = 0) -> None:
        self.problems = problems
        #: problems found beyond those kept in ``problems`` (a load keeps the first
        #: thousand: bounded memory on hostile input), counted but not described
        self.omitted = omitted
        super().__init__("\n".join(str(p) for p in problems))

    @property
    def total(self) -> int:
        """Every problem found: those described and those only counted."""
        return len(self.problems) + self.omitted
