"""Read ahead: map the next file in a worker thread while the database applies this one.

Reading and mapping are pure Python; the upsert of a file is work for the server, during which
the loader's thread only waits (with the GIL released). :class:`Ahead` uses that time: it
starts a worker that pulls items from the next file's
:class:`~revops.ingest.pipeline.Processor` into a buffer of at most ``limit`` items (so memory
stays bounded and big files still stream), and stops as soon as the loader starts consuming;
the rest of the file is then read in the loader's thread as before. (Running the worker for
the whole file would not help: the loader's own Python work would compete for the GIL.)

Nothing else changes: items come out in the same order, an exception raised while reading
(an ``OSError``) is raised again in the consumer after the items read before it, and the
processor's ``tally`` and ``reader.info`` are complete once iteration ends.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator

from revops.ingest.pipeline import Item, Processor

LIMIT = 20_000


class Ahead:
    """The items of ``processor``; a worker thread reads up to ``limit`` of them until used."""

    def __init__(self, processor: Processor, limit: int = LIMIT) -> None:
        self.processor = processor
        self._items = iter(processor)
        self._limit = limit
        self._buffer: deque[Item] = deque()
        self._error: BaseException | None = None
        self._finished = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ingest-read-ahead", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        buffer, items, stop = self._buffer, self._items, self._stop
        try:
            while len(buffer) < self._limit and not stop.is_set():
                buffer.append(next(items))
        except StopIteration:
            self._finished = True
        except BaseException as exc:  # noqa: BLE001 - raised again in the consumer
            self._error = exc

    def stop(self) -> None:
        """Stop the worker and wait for it (it stops after the item it is reading)."""
        self._stop.set()
        self._thread.join()

    def __iter__(self) -> Iterator[Item]:
        self.stop()
        buffer = self._buffer
        while buffer:
            yield buffer.popleft()
        if self._error is not None:
            raise self._error
        if not self._finished:
            yield from self._items

    def close(self) -> None:
        """Abandon the rest (the reader still hashes what it did not read)."""
        self.stop()
        self._buffer.clear()
        self._items.close()  # type: ignore[attr-defined]
