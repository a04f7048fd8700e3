"""What the journal says is done already, per source folder: the credit a resumed run's progress
starts from (flows/progress.py), so that its time left is about what is left."""

from __future__ import annotations

from migrator.journal.state import State


def done_by_source_folder(state: State) -> dict[str, tuple[int, int]]:
    """{source folder key (flows.plan.Entry.key): (messages, bytes)} of the journal's done rows;
    bytes as sent (wire form). One pass over the rows: no message is read."""
    out: dict[str, tuple[int, int]] = {}
    for row in state.rows(status="done"):
        n, b = out.get(row.source_folder, (0, 0))
        out[row.source_folder] = (n + 1, b + row.size)
    return out
