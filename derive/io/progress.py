"""Progress bars on stderr for builds that take a while (derivations, lambdify, lecture and grading runs).

A bar appears only when stderr is a terminal and the work has run longer than ``DELAY`` seconds; piped or
redirected output, tests and CI see nothing, and tqdm is not even imported then.

    for layer in track(layers, "hidden deltas"):    # an iterable
        ...
    with task("lecture", total=len(documents)) as advance:    # or explicit steps
        ...
        advance()
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

DELAY = 1.0
"""seconds of work before a bar is drawn: shorter builds never show one"""


def enabled() -> bool:
    """Whether bars are drawn: stderr is an interactive terminal."""
    stream = sys.stderr
    return stream is not None and hasattr(stream, "isatty") and stream.isatty()


def _bar(description: str, total: int | None) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=description, delay=DELAY, leave=False, file=sys.stderr, unit="step",
                dynamic_ncols=True)


def track(items: Iterable[T], description: str, *, total: int | None = None) -> Iterator[T]:
    """Yield ``items``, advancing a bar by one for each when bars are enabled."""
    if not enabled():
        yield from items
        return
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    bar = _bar(description, total)
    try:
        for item in items:
            yield item
            bar.update(1)
    finally:
        bar.close()


@contextmanager
def task(description: str, *, total: int | None = None) -> Iterator[Callable[..., None]]:
    """A bar for work done in explicit steps: the context gives ``advance(n=1, note=None)``."""
    if not enabled():
        yield _silent
        return
    bar = _bar(description, total)

    def advance(n: int = 1, note: str | None = None) -> None:
        if note is not None:
            bar.set_postfix_str(note, refresh=False)
        bar.update(n)

    try:
        yield advance
    finally:
        bar.close()


def _silent(n: int = 1, note: str | None = None) -> None:
    """advance() when no bar is drawn."""
