"""Viterbi search and traceback of Kaldi pitch over the log-spaced lag grid.

Each frame of the pitch tracker solves, for every state ``i`` of the lag grid,

    best[i] = min_j trans[i, j] + prev[j],     bp[i] = leftmost minimizing j,

with ``trans[i, j] = fl32(c * (i - j)**2)`` and every sum rounded to float32, as in the
reference. Two implementations give identical backpointers and costs:

* numpy (always available): the dense ``lags x lags`` table per frame, one vectorized
  ``argmin`` per frame (:func:`viterbi_step_numpy`);
* compiled (when numba is installed, see :mod:`kaldibridge._jit`): all frames of a block
  in one call; each frame is a divide-and-conquer monotone search. In exact arithmetic
  the table is a Monge matrix (``(i - j)**2`` has the cross term ``-2ij``), so the
  leftmost argmin never decreases with ``i``; the search solves the middle row, then
  restricts the rows above/below to the columns left/right of its argmin. Float32
  rounding can only move an argmin left of a later row's by less than
  ``K = 2 * delta / c`` columns, where ``delta`` bounds the rounding error of one table
  entry (``2**-23 * (max trans + max prev)``); the column ranges are widened by that
  slack, so the result is the exact leftmost argmin of the rounded table, found with
  ``O(lags * log(lags))`` entries instead of ``lags**2``. (Kaldi's own search stops at
  the first non-improving neighbour, which is faster still but not always the exact
  minimum; the two agree on every public golden case.)

Why compiled code: the recursion is sequential over frames, and each frame's search is
a data-dependent recursion over rows; numpy can only do the dense table. Measured on 60 s
of 16 kHz speech-like audio (6000 frames, 417 states), single thread: numpy path 0.56 s,
compiled path 0.03 s (see ``benchmarks/bench_pitch.py``).
"""

from __future__ import annotations

import numpy as np

from kaldibridge._jit import jit_kernel

__all__ = ["viterbi_frames", "viterbi_step_numpy", "traceback", "compiled_path_available"]

_ULP_BOUND = 2.0**-23 * (1.0 + 2.0**-20)  # relative rounding bound of one table entry, with margin


def compiled_path_available() -> bool:
    """Whether the compiled Viterbi/traceback kernels run (numba installed and enabled)."""
    return _viterbi_kernel.compiled() is not None


def viterbi_step_numpy(
    trans: np.ndarray, row_base: np.ndarray, local: np.ndarray, prev: np.ndarray, buf: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.float32]:
    """One frame of the recursion over the dense table (the numpy path).

    Args:
        trans: ``(lags, lags)`` float32 transition costs, row ``i`` (this frame's state),
            column ``j`` (the previous frame's state).
        row_base: ``(lags,)`` int64 ``i * lags``, offsets of the rows in ``trans.ravel()``.
        local: ``(lags,)`` float32 local costs of this frame.
        prev: ``(lags,)`` float32 forward costs of the previous frame.
        buf: ``(lags, lags)`` float32 scratch space.

    Returns:
        ``(backpointers, forward_cost, removed_min)``: ``(lags,)`` int64 leftmost best
        predecessors, ``(lags,)`` float32 new forward costs shifted to minimum zero, and
        the float32 minimum that was subtracted.
    """
    np.add(trans, prev, out=buf)
    bp = buf.argmin(axis=1)
    fwd = buf.reshape(-1)[row_base + bp] + local
    m = fwd.min()
    fwd -= m
    return bp, fwd, m


@jit_kernel
def _viterbi_kernel(trans, local, forward, backptr, removed):  # pragma: no cover - compiled
    n = trans.shape[0]
    num_frames = local.shape[0]
    cur = np.empty(n, np.float32)
    stack = np.empty(4 * (n + 1), np.int64)
    c = np.float64(trans[0, 1]) if n > 1 else 0.0
    tmax = np.float64(trans[0, n - 1])
    inf32 = np.float32(np.inf)
    for f in range(num_frames):
        # slack of the monotone search (see the module docstring)
        pmax = -np.inf
        finite = True
        for j in range(n):
            p = forward[j]
            if not (p > -inf32 and p < inf32):
                finite = False
            elif p > pmax:
                pmax = np.float64(p)
        slack = n
        if finite and c > 0.0:
            k = 2.0 * (tmax + pmax) * 2.0**-23 * (1.0 + 2.0**-20) / c
            if k < n:
                slack = np.int64(k) + 1
        # divide and conquer over rows: (row_lo, row_hi, col_lo, col_hi), inclusive
        stack[0] = 0
        stack[1] = n - 1
        stack[2] = 0
        stack[3] = n - 1
        top = 4
        while top > 0:
            top -= 4
            r0 = stack[top]
            r1 = stack[top + 1]
            c0 = stack[top + 2]
            c1 = stack[top + 3]
            mid = (r0 + r1) // 2
            best = inf32
            bj = c0
            for j in range(c0, c1 + 1):
                v = trans[mid, j] + forward[j]
                if v < best:
                    best = v
                    bj = j
                elif v != v and best == best:  # numpy's argmin stops at the first NaN
                    best = v
                    bj = j
            cur[mid] = best
            backptr[f, mid] = bj
            if r0 < mid:
                stack[top] = r0
                stack[top + 1] = mid - 1
                stack[top + 2] = c0
                stack[top + 3] = min(c1, bj + slack)
                top += 4
            if mid < r1:
                stack[top] = mid + 1
                stack[top + 1] = r1
                stack[top + 2] = max(c0, bj - slack)
                stack[top + 3] = c1
                top += 4
        m = inf32
        for i in range(n):
            v = cur[i] + local[f, i]
            cur[i] = v
            if v < m:
                m = v
            elif v != v and m == m:
                m = v
        for i in range(n):
            forward[i] = cur[i] - m
        removed[f] = m


def viterbi_frames(
    trans: np.ndarray, row_base: np.ndarray, local: np.ndarray, forward: np.ndarray, backptr: np.ndarray
) -> float:
    """Run the recursion over consecutive frames.

    Args:
        trans: ``(lags, lags)`` float32 transition costs (see :func:`viterbi_step_numpy`).
        row_base: ``(lags,)`` int64 row offsets of ``trans``.
        local: ``(frames, lags)`` float32 local costs.
        forward: ``(lags,)`` float32 forward costs before the first frame; updated in place
            to the costs after the last one.
        backptr: ``(frames, lags)`` integer array receiving the backpointers.

    Returns:
        The sum (in double precision, frame by frame) of the minima removed from the
        forward costs.
    """
    num_frames = local.shape[0]
    if num_frames == 0:
        return 0.0
    kernel = _viterbi_kernel.compiled()
    if kernel is not None:
        removed = np.empty(num_frames, dtype=np.float32)
        kernel(trans, np.ascontiguousarray(local, dtype=np.float32), forward, backptr, removed)
        total = 0.0
        for m in removed.tolist():  # sequential double sum, as the numpy path does
            total += m
        return total
    buf = np.empty(trans.shape, dtype=np.float32)
    prev = forward.copy()
    total = 0.0
    for f in range(num_frames):
        bp, prev, m = viterbi_step_numpy(trans, row_base, local[f], prev, buf)
        backptr[f] = bp
        total += float(m)
    forward[:] = prev
    return total


@jit_kernel
def _traceback_kernel(backptr, cur_best, lag_idx, state, t):
    while t >= 0:
        if cur_best[t] == state:
            break
        cur_best[t] = state
        lag_idx[t] = state
        state = backptr[t, state]
        t -= 1
    return t + 1


def traceback(backptr: np.ndarray, cur_best: np.ndarray, lag_idx: np.ndarray, state: int, last: int) -> int:
    """Follow the backpointers from ``state`` at frame ``last`` until the path merges.

    Args:
        backptr: ``(frames, lags)`` backpointers.
        cur_best: ``(frames,)`` int32 state of each frame on the previous traceback (-1:
            none); updated in place.
        lag_idx: ``(frames,)`` int32 chosen state per frame; updated in place.
        state: best final state.
        last: index of the last frame.

    Returns:
        The first frame whose state was (re)written; frames before it were already on
        the path.
    """
    if last < 0:
        return 0
    return int(_traceback_kernel(backptr, cur_best, lag_idx, int(state), int(last)))
