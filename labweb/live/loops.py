"""One object per running event loop: what a daphne process keeps once (its board, fan-out, echo-hosts watcher),
and what each test, running on a loop of its own, gets fresh."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def per_loop(make: Callable[[], T]) -> Callable[[], T]:
    """A getter of the running loop's object, made by `make` on first use in that loop (forgotten with the loop)."""
    made: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = weakref.WeakKeyDictionary()

    def get() -> T:
        loop = asyncio.get_running_loop()
        thing = made.get(loop)
        if thing is None:
            thing = made[loop] = make()
        return thing

    return get
