"""The understanding off the event loop: worker threads of its own and a time budget.

Understanding a message is CPU work (regular expressions, dateparser, RapidFuzz). On the
event loop it stalls every other request and the realtime hub for as long as it takes, so
`BoundedUnderstanding` runs it in a small pool of threads of its own (not the default
executor, which other work shares) and waits at most `budget_seconds`. Past that the turn
gets a `Parse` with `gave_up` set and the dialogue asks the patient to say it more simply.
A parse still queued then never starts; one already running cannot be stopped, but it is
bounded anyway (linear steps over at most `MAX_ANALYSED_CHARS` characters, at most
`MAX_DATE_CANDIDATES` dateparser calls), and the pool's size bounds how many run at once.

Thread safety: the worker gets an immutable snapshot of the context (the directory as a
tuple of frozen records) and `RuleBasedUnderstanding` keeps no mutable state; dateparser's
shared caches are behind a lock in `chatbot.when`; triage's cache of compiled patterns is
filled idempotently (two threads racing compile one pattern twice, nothing worse).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import replace
from typing import Protocol

from dentalcare.chatbot.understanding import MAX_ANALYSED_CHARS, Context, Parse

log = logging.getLogger(__name__)

# Understanding threads per process. The GIL lets one run at a time anyway; a second lets
# a short message through while a long one is being read.
WORKERS = 2
_WORKERS = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="chat-understanding")


class BlockingUnderstanding(Protocol):
    """An understanding that works synchronously (`RuleBasedUnderstanding`)."""

    def parse_now(self, text: str, context: Context) -> Parse:
        """Understand `text` in `context`, in the calling thread."""
        ...


class BoundedUnderstanding:
    """`inner` in a worker thread, within `budget_seconds` per message."""

    def __init__(
        self,
        inner: BlockingUnderstanding,
        *,
        budget_seconds: float,
        executor: Executor = _WORKERS,
    ) -> None:
        self.inner = inner
        self.budget_seconds = budget_seconds
        self._executor = executor

    async def parse(self, text: str, context: Context) -> Parse:
        """Understand `text`; a `Parse` with `gave_up` if that takes longer than the budget."""
        snapshot = replace(context, directory=tuple(context.directory))
        work = asyncio.get_running_loop().run_in_executor(
            self._executor, self.inner.parse_now, text, snapshot
        )
        try:
            return await asyncio.wait_for(work, self.budget_seconds)
        except TimeoutError:
            log.warning(
                "understanding a %d-character message took over %s s; asked to rephrase",
                len(text),
                self.budget_seconds,
            )
            return Parse(text=text.strip()[:MAX_ANALYSED_CHARS], gave_up=True)
