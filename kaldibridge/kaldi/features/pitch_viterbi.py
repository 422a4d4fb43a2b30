"""Viterbi search and traceback of Kaldi pitch over the log-spaced lag grid.

Each frame of the pitch tracker solves, for every state ``i`` of the lag grid,

    best[i] = min_j trans[i, j] + prev[j],     bp[i] = leftmost minimizing j,

with ``trans[i, j] = fl32(c * (i - j)**2)`` and every sum rounded to float32, as in the
reference. Two implementations give identical backpointers and costs:

* numpy (always available): the dense ``lags x lags`` table per frame, one vectorized
  ``argmin`` per frame (:func:`viterbi_step_numpy`);
* compiled (when numba is installed, see :mod:`kaldibridge._jit`): all frames of a block
  in one call, each in ``O(lags)``. In exact arithmetic the row minima of
  ``c (i - j)**2 + p[j]`` are a distance transform: the lower envelope of the parabolas
  centred on each ``j`` (Felzenszwalb and Huttenlocher), computed in float64; call its
  argmin of row ``i`` ``g(i)``. The float32 argmin ``a(i)`` of the rounded table then lies
  in ``[g(i - 1) - K, g(i + 1) + K]``: if ``a(i) > g(i') + K`` for some ``i' > i``, adding
  ``V(i, a) <= V(i, g)`` and ``R(i', g) <= R(i', a)`` and using the Monge identity
  ``R(i, a) + R(i', g) - R(i, g) - R(i', a) = 2c (i' - i) (a - g)`` gives
  ``c (a - g) <= delta`` (and symmetrically below), where ``R`` is the exact sum and
  ``delta`` bounds ``|V - R|`` for one entry (``2**-23 * (max trans + max prev)``, plus a
  margin for the float64 envelope). So ``K = floor(delta / c)`` (0 with Kaldi's
  defaults) and a scan of that bracket with the reference's leftmost ``<`` rule gives
  exactly the dense result, touching about ``3 * lags`` entries instead of ``lags**2``.
  With a zero penalty, or a slack as wide as the grid, every row is scanned in full.
  (Kaldi's own search stops at the first non-improving neighbour, which is not always
  the exact minimum; the two agree on every public golden case.)

Why compiled code: the recursion is sequential over frames, and the envelope of each
frame is built with a data-dependent stack; numpy can only do the dense table. Measured on 60 s
of 16 kHz speech-like audio (6000 frames, 417 states), single thread: numpy path 0.56 s,
compiled path about 0.05 s (see ``benchmarks/bench_pitch.py``).
"""

from __future__ import annotations

import math

import numpy as np

from kaldibridge._jit import jit_kernel

__all__ = ["viterbi_frames", "viterbi_step_numpy", "traceback", "compiled_path_available"]

# Loading numba and the cached kernels costs a process about 0.5 s of CPU, what the numpy
# path spends on some 6000 frames. A process that has not imported numba yet therefore
# stays on the numpy path (same results) until it has searched this many frames in all,
# so that short command-line runs do not get slower. Tests set it to 0.
COMPILE_AFTER_FRAMES = 5000
_frames_searched = 0


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
    hull = np.empty(n + 1, np.int64)  # states whose parabolas form the lower envelope
    zn = np.empty(n + 1, np.float64)  # envelope breakpoints zn[k] / zd[k] (zd[0] = 0: -inf)
    zd = np.empty(n + 1, np.float64)
    h = np.empty(n, np.float64)
    guess = np.empty(n + 2, np.int64)  # guess[i + 1]: real-arithmetic argmin of row i
    count = np.empty(n + 1, np.int64)
    c = np.float64(trans[0, 1]) if n > 1 else 0.0
    c2 = 2.0 * c
    tmax = np.float64(trans[0, n - 1])
    inf32 = np.float32(np.inf)
    for f in range(num_frames):
        pmax = 0.0
        for j in range(n):
            pj = np.float64(forward[j])
            pmax = max(pmax, pj)
            h[j] = pj + c * j * j
        # columns the float32 argmin of row i can be away from the real argmins of
        # rows i - 1 and i + 1 (module docstring)
        scale = tmax + pmax + 1.0
        delta = scale * 2.0**-23 * (1.0 + 2.0**-20) + scale * 2.0**-40
        slack = n
        if c > 0.0 and delta < c * n:
            slack = np.int64(delta / c)
        if slack < n:
            # lower envelope of the parabolas c (x - q)^2 + p[q] (Felzenszwalb and
            # Huttenlocher's distance transform), breakpoints kept as fractions
            k = 0
            hull[0] = 0
            zn[0] = -1.0
            zd[0] = 0.0
            for q in range(1, n):
                hq = h[q]
                while True:
                    r = hull[k]
                    num = hq - h[r]
                    den = c2 * (q - r)
                    if num * zd[k] <= zn[k] * den:  # q's parabola hides r's
                        k -= 1
                    else:
                        break
                k += 1
                hull[k] = q
                zn[k] = num
                zd[k] = den
            # row x's envelope member: the number of breakpoints below x indexes the hull
            # (a histogram and a running sum instead of a search loop per row)
            for x in range(n + 1):
                count[x] = 0
            for kk in range(1, k + 1):
                first_row = min(max(np.floor(zn[kk] / zd[kk]) + 1.0, 0.0), np.float64(n))
                count[np.int64(first_row)] += 1
            run = 0
            for x in range(n):
                run += count[x]
                guess[x + 1] = hull[run]
        guess[0] = 0
        guess[n + 1] = n - 1
        for i in range(n):
            lo = 0
            hi = n - 1
            if slack < n:
                lo = max(guess[i] - slack, 0)
                hi = min(guess[i + 2] + slack, n - 1)
            if hi - lo <= 2:  # the usual bracket: three candidates, no loop
                j1 = min(lo + 1, hi)
                j2 = min(lo + 2, hi)
                best = trans[i, lo] + forward[lo]
                bj = lo
                v = trans[i, j1] + forward[j1]
                if v < best:
                    best = v
                    bj = j1
                v = trans[i, j2] + forward[j2]
                if v < best:
                    best = v
                    bj = j2
            else:
                best = inf32
                bj = lo
                for j in range(lo, hi + 1):
                    v = trans[i, j] + forward[j]
                    if v < best:
                        best = v
                        bj = j
            cur[i] = best
            backptr[f, i] = bj
        m = inf32
        for i in range(n):
            v = cur[i] + local[f, i]
            cur[i] = v
            m = min(m, v)
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
    global _frames_searched
    _frames_searched += num_frames
    kernel = _viterbi_kernel.compiled_if_worth_it(_frames_searched, COMPILE_AFTER_FRAMES)
    # the compiled search assumes finite costs (non-finite ones only come from
    # non-finite input); those blocks take the numpy path, which defines the result
    if kernel is not None and np.isfinite(local).all() and np.isfinite(forward).all():
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
    kernel = _traceback_kernel.compiled_if_worth_it(0, math.inf)  # only if numba is loaded anyway
    return int((kernel or _traceback_kernel.func)(backptr, cur_best, lag_idx, int(state), int(last)))
