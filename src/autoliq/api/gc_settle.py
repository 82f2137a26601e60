"""The garbage collector of a server process, once its start-up is done.

A server process builds its services, its app and their caches once (tens of thousands of objects
that live as long as the process), then allocates many short-lived objects per request. CPython's
cyclic collector runs its youngest generation every `threshold0` (700) net container allocations and
every older generation after ten of the younger; each full collection walks every tracked object,
the start-up ones included. `settle_gc`:

- collects what start-up left behind, then `gc.freeze()`s the survivors: moved to a permanent
  generation that no collection walks again (with several workers, each does it after its own
  start-up);
- raises `threshold0` (settings.gc_gen0_threshold, AUTOLIQ_GC_GEN0_THRESHOLD): fewer young
  collections, each of more objects (most already freed by reference counting, since a request's
  objects rarely form cycles). Figures: docs/performance.md (issue 16).

Only the server's processes do it (`create_app(..., settle_gc=True)`, as `autoliq serve` builds its
apps): a test process building many apps would freeze each test's objects for good.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)


def settle_gc(gen0_threshold: int) -> None:
    """Collect, freeze what survived start-up, and set the youngest generation's threshold."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(gen0_threshold, older, oldest)
    log.debug("gc: %d objects frozen, thresholds %s", gc.get_freeze_count(), gc.get_threshold())
