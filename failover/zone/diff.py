"""git's unified diff of one-line edits, as `git diff` shows them (hunks, headings, context).

The zone edit shows this diff in the preview and commits the same bytes, so an operator reads
what git will; difflib's would differ in hunk headings and joining.
"""

from __future__ import annotations

from collections.abc import Sequence

DIFF_CONTEXT = 3
"""Lines of context around the changed line in the diff, as git shows them."""


def _hunks(changed: Sequence[int], count: int) -> list[tuple[int, int]]:
    """Return the [start, stop) line ranges of git's hunks around the changed lines."""
    hunks: list[tuple[int, int]] = []
    for idx in changed:
        start, stop = max(0, idx - DIFF_CONTEXT), min(count, idx + DIFF_CONTEXT + 1)
        if hunks and start <= hunks[-1][1]:  # contexts touch or overlap: git joins them
            hunks[-1] = (hunks[-1][0], stop)
        else:
            hunks.append((start, stop))
    return hunks


def _heading(lines: list[str], old: dict[int, str], start: int) -> str:
    """Return git's hunk heading for a hunk starting at `start` (old text of each line)."""
    func = None
    for j in range(start - 1, -1, -1):
        ln = old.get(j, lines[j])
        if ln and ln[0].isascii() and (ln[0].isalpha() or ln[0] in "_$"):
            func = ln
            break
    # git's default funcname: the last line before the hunk starting with a letter, `_` or
    # `$` (in a zone: the $ORIGIN or owner above), cut to 80 bytes, trailing space dropped
    return " " + func.encode("utf-8", "surrogateescape")[:80].decode(
        "utf-8", "ignore").rstrip() if func else ""


def unified_diff(lines: list[str], old: dict[int, str], path: str) -> str:
    """Return git's unified diff of one-line changes: `lines` holds the new lines, `old` the
    old text of each changed line by index."""
    ends_nl = bool(lines) and lines[-1] == ""
    count = len(lines) - (1 if ends_nl else 0)

    def rng(start: int, n: int) -> str:
        return f"{start + 1}" if n == 1 else f"{start + 1},{n}"

    def emit(prefix: str, i: int, text: str) -> list[str]:
        last_without_nl = i == count - 1 and not ends_nl
        return [f"{prefix}{text}\n"] + (["\\ No newline at end of file\n"] if last_without_nl
                                         else [])

    out = [f"--- a/{path}\n", f"+++ b/{path}\n"]
    for start, stop in _hunks(sorted(old), count):
        size = stop - start
        out.append(f"@@ -{rng(start, size)} +{rng(start, size)} @@{_heading(lines, old, start)}\n")
        i = start
        while i < stop:
            if i not in old:
                out += emit(" ", i, lines[i])
                i += 1
                continue
            run = i
            while run < stop and run in old:  # adjacent changed lines: all -, then all +
                run += 1
            for j in range(i, run):
                out += emit("-", j, old[j])
            for j in range(i, run):
                out += emit("+", j, lines[j])
            i = run
    return "".join(out)
