"""`monitor_target_uptime_ratio` kept in memory: each target's observed time and down
time in each window, moved along as events come and time passes, instead of reading
the store's history once a minute (1.4-1.9 CPU-s at 20,000 targets, absent for the first
minute after a start).

The figures are those of `HistoryReader.uptime` (`monitor.store.timeline`): a window's
ratio is (observed - down) / observed, observed being the time a target was UP, DEGRADED
or DOWN while the monitor ran. At start `seed` takes each target's segments of the
longest window from the store (`Timelines.segments`, one read) and its last event's
state; from then on `change` takes each event as the store does, and this process runs
throughout (its own run is open until now in the store's reckoning too). Each window
keeps the sums of the target's finished observed pieces still inside it, moved forward
at every event (pieces it left behind dropped); a read clips the piece at the window's
start and the open one, and walks only the pieces left behind since the last event: a
few operations per target and window, one state throughout being a constant. Sums are kept by adding and subtracting,
so they agree with the store's sweep to a few ulps, not bit for bit.

A target added by a reload starts with no past (its events from then on); one removed
is forgotten.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from monitor.result import State

if TYPE_CHECKING:
    from monitor.store.timeline import Segment

_OBSERVED = frozenset((State.UP, State.DEGRADED, State.DOWN))
_NO_PIECES: tuple[tuple[float, float, bool], ...] = ()

Piece = tuple[float, float, bool]  # (start, end, down) of finished observed time


class _Track:
    """One target, immutable: its finished observed pieces still inside the longest
    window (oldest first), per window (head index, observed, down) over the pieces from
    the head on as of `at`, and its open state since `since`. Replaced whole on every
    change, so the scrape's thread reading it never sees half an update."""

    __slots__ = ("at", "heads", "pieces", "since", "state")

    def __init__(
        self, pieces: tuple[Piece, ...], heads: tuple[float, ...], state: State, since: float, at: float
    ) -> None:
        self.pieces = pieces
        self.heads = heads  # (index, observed, down) per window, flat
        self.state = state
        self.since = since
        self.at = at

    def ratio(self, window: int, start: float, now: float) -> float | None:
        """The ratio over `[start, now)`, `start` no earlier than this window's at `at`."""
        k = 3 * window
        i, observed, down = int(self.heads[k]), self.heads[k + 1], self.heads[k + 2]
        pieces = self.pieces
        count = len(pieces)
        while i < count and pieces[i][1] <= start:  # left the window since
            first, last, was_down = pieces[i]
            observed -= last - first
            if was_down:
                down -= last - first
            i += 1
        if i < count and pieces[i][0] < start:  # across the window's start: its inside only
            outside = start - pieces[i][0]
            observed -= outside
            if pieces[i][2]:
                down -= outside
        if self.state in _OBSERVED:
            length = now - max(self.since, start)
            if length > 0:
                observed += length
                if self.state is State.DOWN:
                    down += length
        if observed <= 0:
            return None
        return (observed - down) / observed


def _moved(track: _Track, windows: tuple[float, ...], at: float, state: State, since: float) -> _Track:
    """`track` with its open piece finished at `at` (when observed), the heads moved to
    the windows' starts at `at`, and `state` open from `since`."""
    pieces = track.pieces
    heads = list(track.heads)
    if track.state in _OBSERVED and at > track.since:
        down = track.state is State.DOWN
        pieces = (*pieces, (track.since, at, down))
        length = at - track.since
        for k in range(1, len(heads), 3):
            heads[k] += length
            if down:
                heads[k + 1] += length
    for w, seconds in enumerate(windows):
        k, start = 3 * w, at - seconds
        i = int(heads[k])
        while i < len(pieces) and pieces[i][1] <= start:
            first, last, was_down = pieces[i]
            heads[k + 1] -= last - first
            if was_down:
                heads[k + 2] -= last - first
            i += 1
        heads[k] = i
    gone = min(int(heads[k]) for k in range(0, len(heads), 3))
    if gone:
        pieces = pieces[gone:]
        for k in range(0, len(heads), 3):
            heads[k] -= gone
    return _Track(pieces, tuple(heads), state, since, at)


class UptimeTracker:
    """Availability per target over each of `windows` (name -> seconds), in memory.
    `seed` and `change` run on the event loop; `ratios` may run in another thread."""

    def __init__(self, windows: Mapping[str, float]) -> None:
        self.names = tuple(windows)
        self.seconds = tuple(windows.values())
        self._empty = (0.0, 0.0, 0.0) * len(self.seconds)
        self._tracks: dict[str, _Track] = {}
        self._steady = (tuple((n, 1.0) for n in self.names), tuple((n, 0.0) for n in self.names))
        self._lines: dict[tuple[int, str], str] = {}
        self._floor = float("-inf")  # the seed's `end`: no change of a seeded target is earlier

    def lines(self, target: str, now: float, family: str, labels: str) -> str:
        """`ratios_of` as the family's sample lines (`window` after `labels`), the steady
        cases by a template made once."""
        pairs = self.ratios_of(target, now)
        if pairs is self._steady[0] or pairs is self._steady[1]:
            key = (id(pairs), family)
            template = self._lines.get(key)
            if template is None:
                template = self._lines[key] = "".join(
                    f'{family}{{%s,window="{name}"}} {ratio!r}\n' for name, ratio in pairs
                )
            return template % ((labels,) * len(pairs))
        return "".join(f'{family}{{{labels},window="{name}"}} {ratio!r}\n' for name, ratio in pairs)

    @property
    def longest(self) -> float:
        return max(self.seconds)

    def seed(self, segments: Mapping[str, list[Segment]], end: float, states: Mapping[str, State]) -> None:
        """The history up to `end` (`Timelines.segments` over the longest window before
        it) and each target's state at `end` by its events (`states`: the last event's
        new state; a target missing is UNKNOWN), before any `change` of those targets.
        From `end` on this process's run covers the time. A target with nothing observed
        in the window and UNKNOWN at `end` (every target of a new store) gets no track:
        its first `change` makes the one seeding would have (at `end` at the earliest)."""
        self._floor = end
        for tid in segments.keys() | states.keys():
            state = states.get(tid, State.UNKNOWN)
            if state not in _OBSERVED and all(seg.state not in _OBSERVED for seg in segments.get(tid, ())):
                self._tracks.pop(tid, None)
                continue
            since = end - self.longest
            track = _Track(_NO_PIECES, self._empty, State.UNKNOWN, since, since)
            for seg in segments.get(tid, ()):
                if seg.start < end:
                    track = _moved(track, self.seconds, seg.start, seg.state, seg.start)
            self._tracks[tid] = _moved(track, self.seconds, end, state, end)

    def change(self, target: str, at: float, state: State) -> None:
        """`target` is in `state` from `at` on (an event, as the store takes it)."""
        track = self._tracks.get(target)
        if track is None:
            at = max(at, self._floor)
            self._tracks[target] = _Track(_NO_PIECES, self._empty, state, at, at)
            return
        at = max(at, track.since)
        self._tracks[target] = _moved(track, self.seconds, at, state, at)

    def forget_missing(self, target_ids: Iterable[str]) -> None:
        keep = set(target_ids)
        self._tracks = {tid: t for tid, t in self._tracks.items() if tid in keep}

    def ratios(self, now: float) -> dict[str, tuple[tuple[str, float], ...]]:
        """Each target's (window, ratio) pairs at `now`; a window with no observed time
        has no pair (no series rather than a made-up 100 %)."""
        out: dict[str, tuple[tuple[str, float], ...]] = {}
        for tid in tuple(self._tracks):
            pairs = self.ratios_of(tid, now)
            if pairs:
                out[tid] = pairs
        return out

    def ratios_of(self, target: str, now: float) -> tuple[tuple[str, float], ...]:
        """One target's pairs of `ratios`."""
        track = self._tracks.get(target)
        if track is None:
            return ()
        if not track.pieces and track.state in _OBSERVED and now > track.since:
            return self._steady[track.state is State.DOWN]  # one state throughout: 1 or 0
        pairs = []
        for w, length in enumerate(self.seconds):
            ratio = track.ratio(w, max(now - length, track.at - length), now)
            if ratio is not None:
                pairs.append((self.names[w], ratio))
        return tuple(pairs)
