"""Resident memory of a process tree, from /proc: VmRSS of a process and all its descendants."""

from __future__ import annotations

from pathlib import Path


def children(pid: int) -> list[int]:
    """The direct children of `pid` (every thread's children list)."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue  # the thread ended meanwhile
    return out


def tree(pid: int) -> list[int]:
    """`pid` and all its descendants."""
    seen, todo = [], [pid]
    while todo:
        p = todo.pop()
        seen.append(p)
        try:
            todo += children(p)
        except FileNotFoundError:
            continue
    return seen


def status_kib(pid: int, field: str) -> int:
    """A `Vm*` line of /proc/<pid>/status, in KiB (0 for a process that has gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except FileNotFoundError:
        return 0
    return 0


def command(pid: int) -> str:
    """The process's command name."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except FileNotFoundError:
        return "?"


def tree_rss(pid: int) -> tuple[int, list[tuple[str, int]]]:
    """Total VmRSS (KiB) of the tree under `pid`, and each process's (name, KiB)."""
    parts = [(command(p), status_kib(p, "VmRSS")) for p in tree(pid)]
    return sum(k for _, k in parts), parts
