"""Direct standardisation beside the subgroups on a second thread: warnings on the main
thread, in the serial order."""

from __future__ import annotations

import threading
import warnings

from casemix.models.disclosed import _warnings_after


def test_warnings_of_other_threads_are_shown_after_the_block_in_their_order() -> None:
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        shown_on: list[int] = []
        outer = warnings.showwarning

        def note(*args, **kwargs):  # type: ignore[no-untyped-def]
            shown_on.append(threading.get_ident())
            outer(*args, **kwargs)

        warnings.showwarning = note
        try:
            with _warnings_after():
                def other() -> None:
                    warnings.warn("other 1", RuntimeWarning, stacklevel=1)
                    warnings.warn("other 2", UserWarning, stacklevel=1)

                worker = threading.Thread(target=other)
                worker.start()
                worker.join()
                warnings.warn("main", UserWarning, stacklevel=1)
                assert [str(w.message) for w in seen] == ["main"]  # the others are held
            assert warnings.showwarning is note  # restored
        finally:
            warnings.showwarning = outer
    assert [(str(w.message), w.category) for w in seen] == [
        ("main", UserWarning), ("other 1", RuntimeWarning), ("other 2", UserWarning)]
    assert set(shown_on) == {threading.get_ident()}


def test_filtered_warnings_of_other_threads_stay_filtered() -> None:
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        with _warnings_after():
            worker = threading.Thread(
                target=lambda: warnings.warn("hidden", RuntimeWarning, stacklevel=1))
            worker.start()
            worker.join()
    assert seen == []
