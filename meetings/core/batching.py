"""Group commit: requests that arrive while a transaction is committing are decided together in the next one.

When 500 tablets cast their ballots in the same second, deciding each in its own transaction costs 500 times
the same reads, 500 commits and, on SQLite, 500 turns of the one writer's lock. ``GroupCommit`` lets the
handlers queue their requests instead: one of them — the *leader* — takes everything queued, decides it all in
one transaction, commits, and wakes the others with their answers; if more arrived meanwhile, it hands the lead
to the first of those. Nobody waits for a timer: a lone request is decided at once (a batch of one), and under
a storm the batches grow by themselves to whatever arrived during the previous commit.

The primitives are ``threading``'s, which gevent's monkey-patching makes cooperative in the server; with
real threads (tests, the development server) the same code works unchanged.
"""
from __future__ import annotations

import threading
import time
from typing import Callable, Generic, TypeVar

Item = TypeVar("Item")
Answer = TypeVar("Answer")


class _Slot(Generic[Item, Answer]):
    __slots__ = ("item", "answer", "done", "lead")

    def __init__(self, item: Item):
        self.item = item
        self.answer: Answer | None = None
        self.done = threading.Event()
        self.lead = False


class GroupCommit(Generic[Item, Answer]):
    """``submit(item)`` returns ``decide(batch)[i]`` for the item, where ``decide`` runs in the leader's own
    context and must answer every item of the batch (and not raise: it owns its transaction). If it raises
    anyway, the leader's caller gets the exception and every other item of the batch the answer None."""

    def __init__(self, decide: Callable[[list[Item]], list[Answer]], *, max_batch: int = 1000):
        self._decide = decide
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[_Slot[Item, Answer]] = []
        self._leading = False
        self.batches = 0  # decided so far, and the items in them
        self.items = 0

    def submit(self, item: Item) -> Answer | None:
        slot: _Slot[Item, Answer] = _Slot(item)
        with self._lock:
            self._queue.append(slot)
            lead = not self._leading
            self._leading = True
        if not lead:
            try:
                slot.done.wait()
            except BaseException:  # killed while waiting (GreenletExit, a timeout): leave, and pass on the lead
                self._abandon(slot)
                raise
            if not slot.lead:
                return slot.answer
        self._lead(slot)
        return slot.answer

    def _abandon(self, slot: _Slot[Item, Answer]) -> None:
        with self._lock:
            if slot in self._queue:
                self._queue.remove(slot)
            if not slot.lead:
                return
            successor = self._queue[0] if self._queue else None
            if successor is not None:
                successor.lead = True
            else:
                self._leading = False
        if successor is not None:
            successor.done.set()

    def _lead(self, own: _Slot[Item, Answer]) -> None:
        batch: list[_Slot[Item, Answer]] = []
        answers: list[Answer | None] = []
        try:
            time.sleep(0)  # let requests that are already on their way join this batch
            with self._lock:
                batch, self._queue = self._queue[:self._max_batch], self._queue[self._max_batch:]
            answers = self._decide([s.item for s in batch])
            if len(answers) != len(batch):
                raise RuntimeError(f"{len(answers)} answers for {len(batch)} requests")
        except BaseException:
            answers = [None] * len(batch)  # each is decided again by its own caller
            raise
        finally:
            self.batches += 1
            self.items += len(batch)
            with self._lock:
                if own in self._queue:  # killed before it took its batch: it is nobody's to lead now
                    self._queue.remove(own)
                successor = self._queue[0] if self._queue else None
                if successor is not None:
                    successor.lead = True
                else:
                    self._leading = False
            for slot, answer in zip(batch, answers):
                slot.answer = answer
                slot.done.set()
            if successor is not None:
                successor.done.set()
