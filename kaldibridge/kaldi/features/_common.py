"""The machinery shared by fbank, MFCC, spectrogram and PLP extraction.

Kaldi: ``OfflineFeatureTpl`` (``src/feat/feature-common{.h,-inl.h}``), ``ExtractWindow`` /
``ProcessWindow`` (``src/feat/feature-window.cc``).

One :class:`FeatureComputer` per feature type turns windowed frames into feature rows
(``compute_frames``); this module does everything around it: resampling when allowed,
framing (both ``snip_edges`` modes), dither, DC removal, raw log energy, pre-emphasis,
windowing, and batching with ``lengths``.

Waveforms here are in Kaldi's int16 scale (``x * 32768`` of a [-1, 1] signal).

Precision: float32 inputs are processed in float32 with the operations in Kaldi's order
(constant matrices are built in float64 and rounded once, as Kaldi does). With
``fft="kaldi"`` (the default) the FFT reproduces the rounding of Kaldi's float32
split-radix code; this is needed: low-energy mel bins and spectrum bins are so sensitive
to it that ``torch.fft`` misses the golden tolerance on 14 of the 74 golden feature cases
(up to 2.7e-3 on a log-mel value, 2e-2 on a log-spectrum value). float64 inputs are
processed in float64 with the same constants.

Paths: float32 CPU input with a power-of-two FFT and no autograd goes through the column
pipeline (:meth:`FeatureComputer._compute_columns`: frames as columns of a planar numpy
buffer, split-radix FFT, banded mel product; the FFT and power step run in numpy or, in
long runs when numba is installed, in a compiled kernel with the same bits, see
:mod:`kaldibridge.functional._srfft_kernels`); ``fft="torch"`` on CPU through
:meth:`FeatureComputer._compute_pocketfft`; everything else (GPU, autograd,
``torch.compile``, other FFT sizes) through the frame-major torch path
(:meth:`FeatureComputer.window_frames` + ``compute_frames``). They agree to float32
rounding of the mel product (tests).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any, Literal, Sequence

import numpy as np
import torch

from kaldibridge.errors import OptionError
from kaldibridge.functional.gaussian_dither import dither as _dither
from kaldibridge.functional.framing import frame_indices, frame_signal, num_frames, num_frames_tensor
from kaldibridge.functional._srfft_kernels import split_radix_power_planar
from kaldibridge.functional.srfft import fft_tables
from kaldibridge.functional.spectral import (
    FLT_EPSILON,
    frame_means,
    frames_to_planes,
    half_complex_rfft,
    half_complex_rfft_order,
    log_energy,
    numpy_path_ok,
    preemphasis,
    recursive_twiddles,
    remove_dc_offset,
)
from kaldibridge.functional.window import WINDOW_TYPES, window_function
from kaldibridge.kaldi.features.frame_options import FrameExtractionOptions, f32
from kaldibridge.kaldi.options import OptionGroup

__all__ = ["FeatureComputer", "fmt_float", "check_frame_options", "resample_to_config", "log_floor", "mel_blocks"]

Consts = dict[str, torch.Tensor]

#: frames per chunk of the column pipeline (larger chunks spread the per-call cost of the
#: FFT's ~150 numpy operations; measured 4.2 / 3.4 / 3.2 us per frame for 256 / 512 / 1024)
_COLUMN_CHUNK = 1024
#: mel filters per block of the banded mel product (measured on 80 bins: 8 -> 0.44 ms,
#: 16 -> 0.22 ms, dense 0.41 ms per 800 frames)
_MEL_BLOCK = 16


@dataclass
class _ColumnPlan:
    """numpy/torch constants of the column pipeline for one constant set."""

    window: tuple[np.ndarray, np.ndarray]  # even and odd samples, (n, 1) float32 each
    twiddles: tuple[np.ndarray, np.ndarray]  # (n_fft / 4, 1) each
    #: mel filters in blocks ``(first, stop, lo, hi, weights (stop - first, hi - lo))``:
    #: only the spectrum rows ``[lo, hi)`` a block's filters touch take part in its product
    mel_blocks: list[tuple[int, int, int, int, torch.Tensor]] | None
    #: the same blocks' weights transposed, ``(hi - lo, stop - first)`` contiguous
    mel_blocks_t: list[torch.Tensor] | None
    dim: int  # rows handed to ``finish``: mel bins, or FFT bins


_ARENA = threading.local()
#: largest work space (float32 values) kept between calls, per thread
_ARENA_KEEP = 4 << 20


def _workspace(shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    """Contiguous float32 work arrays of the given shapes, carved from a per-thread arena
    that is reused across calls (fresh pages cost a page fault each). Never hand these to
    callers: the next call overwrites them."""
    sizes = [math.prod(s) for s in shapes]
    total = sum(sizes)
    arena = getattr(_ARENA, "buf", None)
    if arena is None or arena.size < total:
        arena = np.empty(total, dtype=np.float32)
        if total <= _ARENA_KEEP:
            _ARENA.buf = arena
    out, pos = [], 0
    for shape, size in zip(shapes, sizes):
        out.append(arena[pos : pos + size].reshape(shape))
        pos += size
    return out


def log_floor(x: torch.Tensor, floor: float) -> torch.Tensor:
    """``log(max(x, floor))``, computed in place in ``x`` unless ``x`` requires grad (pass
    only tensors the caller owns)."""
    if x.requires_grad:
        return torch.log(torch.clamp_min(x, floor))
    return torch.clamp_min_(x, floor).log_()


def mel_blocks(mel_t: torch.Tensor, block: int = _MEL_BLOCK) -> list[tuple[int, int, int, int, torch.Tensor]]:
    """Split a mel matrix ``(fft_bins, mel_bins)`` into blocks of filters with the row band
    they touch (see :class:`_ColumnPlan`)."""
    w = mel_t.t().contiguous()
    nz = w != 0
    out = []
    for g0 in range(0, w.shape[0], block):
        g1 = min(g0 + block, w.shape[0])
        rows = torch.nonzero(nz[g0:g1].any(0)).flatten()
        lo, hi = (int(rows[0]), int(rows[-1]) + 1) if rows.numel() else (0, 1)
        out.append((g0, g1, lo, hi, w[g0:g1, lo:hi].contiguous()))
    return out


def fmt_float(x: float) -> str:
    """Format a float as C++ ``ostream`` does by default (``%g``)."""
    return f"{float(x):g}"


def check_frame_options(fo: FrameExtractionOptions) -> None:
    """Reject frame options Kaldi cannot run with (raises :class:`OptionError`)."""
    if fo.window_type not in WINDOW_TYPES:
        raise OptionError(f"Invalid window type {fo.window_type}")
    if fo.window_size <= 0:
        raise OptionError(
            f"Frame length {fmt_float(fo.frame_length)} ms at {fmt_float(fo.sample_frequency)} Hz gives "
            f"{fo.window_size} samples per frame; need at least 1"
        )
    if fo.window_shift <= 0:
        raise OptionError(
            f"Frame shift {fmt_float(fo.frame_shift)} ms at {fmt_float(fo.sample_frequency)} Hz gives "
            f"{fo.window_shift} samples; need at least 1"
        )
    if not 0.0 <= fo.preemphasis_coefficient <= 1.0:
        raise OptionError(
            f"--preemphasis-coefficient must be in [0, 1], got {fmt_float(fo.preemphasis_coefficient)}"
        )


def resample_to_config(wave: torch.Tensor, sample_rate: float, fo: FrameExtractionOptions) -> torch.Tensor:
    """Kaldi's ``ComputeFeatures`` rate check: resample if allowed, else raise.

    Kaldi: ``OfflineFeatureTpl::ComputeFeatures`` and ``ResampleWaveform`` (low-pass cutoff
    ``0.99 * 0.5 * min(rates)``, 6 zero crossings).

    Args:
        wave: ``(..., time)``.
        sample_rate: the waveform's rate in Hz.
        fo: frame options (``sample_frequency``, ``allow_downsample``, ``allow_upsample``).

    Raises:
        OptionError: the rates differ and the needed direction is not allowed.
    """
    orig = f32(sample_rate)
    new = f32(fo.sample_frequency)
    if orig == new:
        return wave
    if new < orig and not fo.allow_downsample:
        raise OptionError(
            f"Waveform and config sample Frequency mismatch: {fmt_float(orig)} .vs {fmt_float(new)} "
            "(use --allow-downsample=true to allow  downsampling the waveform)."
        )
    if new > orig and not fo.allow_upsample:
        raise OptionError(
            f"Waveform and config sample Frequency mismatch: {fmt_float(orig)} .vs {fmt_float(new)} "
            "(use --allow-upsample=true option to allow  upsampling the waveform)."
        )
    try:
        from kaldibridge.functional.resample import linear_resample
    except ImportError as exc:  # pragma: no cover - depends on another module's progress
        raise OptionError(f"Resampling from {fmt_float(orig)} to {fmt_float(new)} Hz is not available: {exc}") from None
    cutoff = f32(0.99 * 0.5 * min(orig, new))
    return linear_resample(wave, orig, new, cutoff, 6)


class FeatureComputer:
    """Base class: one Kaldi feature type, configured by its option group.

    Subclasses set :attr:`options_class`, implement :attr:`dim`, :meth:`need_raw_log_energy`,
    :meth:`_build_consts` and :meth:`compute_frames`.

    Args:
        opts: the feature's option group (``None`` for Kaldi's defaults).
        **overrides: flat option overrides (``num_mel_bins=80``, ``dither=0``).
    """

    options_class: type[OptionGroup]

    def __init__(self, opts: OptionGroup | None = None, *, fft: str = "kaldi", **overrides: Any) -> None:
        if fft not in ("kaldi", "torch"):
            raise OptionError(f'fft must be "kaldi" or "torch", got {fft!r}')
        #: "kaldi": FFT rounding identical to Kaldi's float32 code; "torch": torch.fft (faster)
        self.fft_mode = fft
        if opts is None:
            opts = self.options_class()
        elif not isinstance(opts, self.options_class):
            raise OptionError(f"{type(self).__name__} expects {self.options_class.__name__}, got {type(opts).__name__}")
        if overrides:
            opts = opts.replace(**overrides)
        self.opts = opts
        self.frame_opts: FrameExtractionOptions = opts.frame_opts  # type: ignore[attr-defined]
        check_frame_options(self.frame_opts)
        self._const_cache: dict[tuple, Consts] = {}
        self._check()
        self.consts(torch.float32, torch.device("cpu"), 1.0)  # validates as Kaldi's constructor does

    # -- to be provided by subclasses --------------------------------------------------
    @property
    def dim(self) -> int:
        """Feature dimension."""
        raise NotImplementedError

    def need_raw_log_energy(self) -> bool:
        """Whether the log energy is taken before pre-emphasis and windowing."""
        return False

    def energy_kind(self) -> Literal["raw", "windowed"] | None:
        """Which frame log energy :meth:`finish` needs: before pre-emphasis ("raw"), of the
        windowed frame ("windowed"), or none."""
        return "raw" if self.need_raw_log_energy() else None

    def frame_log_energy(self, frames: torch.Tensor, raw_log_energy: torch.Tensor | None) -> torch.Tensor | None:
        """The log energy :meth:`finish` needs (:meth:`energy_kind`) in the frame-major path:
        ``raw_log_energy``, or that of the windowed ``frames (..., n)``, ``(...)``."""
        return log_energy(frames, FLT_EPSILON) if self.energy_kind() == "windowed" else raw_log_energy

    #: what the column pipeline hands to :meth:`finish`: "mel" (mel filter-bank energies,
    #: ``consts["mel_t"]``), "power" (the power spectrum), or ``None`` (no column pipeline)
    column_stage: Literal["mel", "power"] | None = None

    def use_power(self) -> bool:
        """Power spectrum (true) or magnitude spectrum (false) before the mel bank."""
        return True

    def finish(self, stage: torch.Tensor, log_energy: torch.Tensor | None) -> torch.Tensor:
        """Feature rows from the output of :attr:`column_stage` ``(frames, dim)`` and the
        floored frame log energy ``(frames,)`` (see :meth:`energy_kind`). ``stage`` is
        consumed: it may be overwritten in place."""
        raise NotImplementedError

    def _check(self) -> None:
        """Validate option combinations (raise :class:`OptionError`)."""

    def _build_consts(self, warp: float) -> dict[str, Any]:
        """float32 numpy/tensor constants for VTLN warp ``warp``."""
        return {}

    def compute_frames(self, frames: torch.Tensor, raw_log_energy: torch.Tensor | None, consts: Consts) -> torch.Tensor:
        """Features of windowed frames ``(..., window_size) -> (..., dim)``."""
        raise NotImplementedError

    # -- constants ----------------------------------------------------------------------
    def consts(self, dtype: torch.dtype, device: torch.device | str | None, warp: float = 1.0) -> Consts:
        """Constant tensors (window, filter banks...) for this dtype, device and VTLN warp."""
        device = torch.device(device) if device is not None else torch.device("cpu")
        key = (dtype, device, f32(warp))
        hit = self._const_cache.get(key)
        if hit is not None:
            return hit
        base_key = (torch.float32, torch.device("cpu"), f32(warp))
        base = self._const_cache.get(base_key)
        if base is None:
            fo = self.frame_opts
            raw = self._build_consts(f32(warp))
            base = {k: (torch.from_numpy(v) if not isinstance(v, torch.Tensor) else v).to(torch.float32) for k, v in raw.items()}
            tw_re, tw_im = recursive_twiddles(fo.padded_window_size)
            base["twiddle_re"] = torch.from_numpy(tw_re.copy())
            base["twiddle_im"] = torch.from_numpy(tw_im.copy())
            if "mel_t" in base:
                order = torch.from_numpy(half_complex_rfft_order(fo.padded_window_size))
                base["mel_t_unordered"] = base["mel_t"].index_select(0, order).contiguous()
            base["window"] = window_function(fo.window_type, fo.window_size, f32(fo.blackman_coeff), dtype=torch.float32)
            self._const_cache[base_key] = base
        out = {k: v.to(dtype=dtype, device=device) for k, v in base.items() if not k.startswith("_")}
        out["_fft"] = fft_tables(self.frame_opts.padded_window_size // 2, dtype, device)  # type: ignore[assignment]
        self._const_cache[key] = out
        return out

    # -- framing and windowing ----------------------------------------------------------
    def num_frames(self, num_samples: int) -> int:
        """Frames produced for ``num_samples`` samples (at the configured rate)."""
        fo = self.frame_opts
        return num_frames(num_samples, fo.window_size, fo.window_shift, fo.snip_edges)

    def window_frames(
        self, frames: torch.Tensor, window: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Dither, DC removal, raw log energy, pre-emphasis and windowing of raw frames.

        Args:
            frames: ``(..., window_size)`` raw samples (may be a strided view; not modified).
            window: ``(window_size,)``.
            generator: dither noise source.

        Returns:
            ``(windowed frames (..., window_size), raw log energy (...) or None)``.
        """
        fo = self.frame_opts
        x = frames
        if fo.dither != 0.0:
            x = _dither(x, f32(fo.dither), generator)
        if fo.remove_dc_offset:
            x = remove_dc_offset(x)
        raw = log_energy(x, FLT_EPSILON) if self.need_raw_log_energy() else None
        c = f32(fo.preemphasis_coefficient)
        if c != 0.0:
            x = preemphasis(x, c)
        return x * window, raw

    def compute_utterance(
        self,
        wave: torch.Tensor,
        consts: Consts | None = None,
        *,
        vtln_warp: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Features of one waveform ``(time,)`` at the configured rate -> ``(frames, dim)``."""
        fo = self.frame_opts
        if consts is None:
            consts = self.consts(wave.dtype, wave.device, vtln_warp)
        frames = frame_signal(wave, fo.window_size, fo.window_shift, fo.snip_edges)
        if frames.shape[0] == 0:
            return wave.new_zeros((0, self.dim))
        if self._columns_ok(frames):
            return self._compute_columns(frames, consts, generator)
        if self._pocketfft_ok(frames):
            return self._compute_pocketfft(frames, consts, generator)
        x, raw = self.window_frames(frames, consts["window"], generator)
        return self.compute_frames(x, raw, consts)

    # -- the CPU column pipeline ----------------------------------------------------------
    def _columns_ok(self, frames: torch.Tensor) -> bool:
        """Whether :meth:`_compute_columns` may replace the frame-major path."""
        n = self.frame_opts.padded_window_size
        return (
            self.column_stage is not None
            and self.fft_mode == "kaldi"
            and n >= 4
            and n & (n - 1) == 0
            and frames.dtype == torch.float32
            and numpy_path_ok(frames)
        )

    def _pocketfft_ok(self, frames: torch.Tensor) -> bool:
        """Whether :meth:`_compute_pocketfft` may replace the frame-major path."""
        return self.column_stage is not None and self.fft_mode == "torch" and numpy_path_ok(frames)

    def _compute_pocketfft(
        self, frames: torch.Tensor, consts: Consts, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """``fft="torch"`` on CPU: one fused frame-major pass and ``torch.fft.rfft``.

        DC removal, pre-emphasis and windowing write into the zero-padded FFT input in
        place (same float operations as :meth:`window_frames`), the power spectrum comes
        from ``torch.fft.rfft`` (pocketfft) rather than Kaldi's split-radix code, and the
        mel product is banded as in :meth:`_compute_columns`.
        """
        fo = self.frame_opts
        if fo.dither != 0.0:
            frames = _dither(frames, f32(fo.dither), generator)
        count, n = frames.shape
        buf = frames.new_zeros((count, fo.padded_window_size))
        x = buf[:, :n]
        if fo.remove_dc_offset:
            torch.sub(frames, frame_means(frames), out=x)
        else:
            x.copy_(frames)
        kind = self.energy_kind()
        log_e = None
        if kind == "raw":
            log_e = log_floor(torch.linalg.vecdot(x, x), FLT_EPSILON)
        c = f32(fo.preemphasis_coefficient)
        if c != 0.0 and n > 1:
            prev = x[:, :-1] * c  # from the frame before any update
            x[:, 1:] -= prev
            x[:, 0] -= prev[:, 0]
        x *= consts["window"]
        if kind == "windowed":
            log_e = log_floor(torch.linalg.vecdot(x, x), FLT_EPSILON)
        z = torch.fft.rfft(buf)
        spec = z.real.square()
        spec += z.imag.square()
        if not self.use_power():
            spec = spec.sqrt_()
        plan = self._column_plan(consts)
        if plan.mel_blocks is not None and plan.mel_blocks_t is not None:
            spec = torch.cat(
                [torch.mm(spec[:, b[2] : b[3]], w) for b, w in zip(plan.mel_blocks, plan.mel_blocks_t)], dim=1
            )
        return self.finish(spec, log_e)

    def _column_plan(self, consts: Consts) -> _ColumnPlan:
        """numpy constants for ``consts``, cached by the identity and version of its tensors."""
        names = ("window", "twiddle_re", "twiddle_im") + (("mel_t",) if self.column_stage == "mel" else ())
        key = tuple((k, t.data_ptr(), -1 if t.is_inference() else t._version, t.dtype) for k in names for t in (consts[k],))
        cache: dict[tuple, _ColumnPlan] = self.__dict__.setdefault("_column_plans", {})
        hit = cache.get(key)
        if hit is not None:
            return hit
        q = self.frame_opts.padded_window_size // 4
        blocks = mel_blocks(consts["mel_t"]) if self.column_stage == "mel" else None
        window = consts["window"].detach().float().numpy()
        plan = _ColumnPlan(
            window=(window[0::2].reshape(-1, 1).copy(), window[1::2].reshape(-1, 1).copy()),
            twiddles=(
                consts["twiddle_re"].detach().float().numpy().reshape(q, 1).copy(),
                consts["twiddle_im"].detach().float().numpy().reshape(q, 1).copy(),
            ),
            mel_blocks=blocks,
            mel_blocks_t=None if blocks is None else [b[4].t().contiguous() for b in blocks],
            dim=consts["mel_t"].shape[1] if blocks is not None else self.frame_opts.padded_window_size // 2 + 1,
        )
        if len(cache) > 16:
            cache.clear()
        cache[key] = plan
        return plan

    def _compute_columns(
        self, frames: torch.Tensor, consts: Consts, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Features of raw frames ``(frames, window_size)`` through the column pipeline.

        Same float32 operations as :meth:`window_frames` + :meth:`compute_frames` with the
        numpy split-radix FFT (so the spectrum is bit-identical), but chunk by chunk of
        frames laid out as columns: the windowed frames are written straight into the
        FFT's input, the split step yields the power spectrum in the same layout, and the
        mel product only touches each block of filters' band of FFT bins. Energies are
        summed in a different order (float32 rounding differences only).
        """
        fo = self.frame_opts
        if fo.dither != 0.0:
            frames = _dither(frames, f32(fo.dither), generator)
        plan = self._column_plan(consts)
        fr = frames.detach().numpy()
        count = fr.shape[0]
        means = None
        if fo.remove_dc_offset:  # as remove_dc_offset: sum in float64, rounded once
            means = fr.sum(axis=1, dtype=np.float64).astype(np.float32)
            means /= np.float32(fr.shape[1])
        n_fft = fo.padded_window_size
        half = n_fft // 2
        kind = self.energy_kind()
        energy = np.empty(count, dtype=np.float32) if kind is not None else None
        out = np.empty((count, plan.dim), dtype=np.float32)
        preemph = f32(fo.preemphasis_coefficient)
        # equal chunks (at most _COLUMN_CHUNK frames)
        chunks = -(-count // _COLUMN_CHUNK)
        width = -(-count // chunks)
        shapes = [(2, half, width), (2, half, width), (half + 1, width), (6, half // 2, width), (plan.dim, width)]
        buf, scratch, spec, work, mel_np = _workspace(shapes)
        mel = torch.from_numpy(mel_np)
        for j in range(0, count, width):
            c = min(width, count - j)
            if c != width:  # the last, shorter chunk
                shapes = [s[:-1] + (c,) for s in shapes]
                buf, scratch, spec, work, mel_np = _workspace(shapes)
                mel = torch.from_numpy(mel_np)
            e = energy[j : j + c] if energy is not None else None
            frames_to_planes(
                fr[j : j + c], buf, plan.window, None if means is None else means[j : j + c], preemph,
                (e if kind == "raw" else None, e if kind == "windowed" else None), scratch,
            )
            # numpy, or its compiled twin in long runs (same bits, see _srfft_kernels)
            split_radix_power_planar(buf, plan.twiddles, spec, self.use_power(), scratch, work)
            if plan.mel_blocks is None:
                out[j : j + c] = spec.T
                continue
            st = torch.from_numpy(spec)
            for g0, g1, lo, hi, w in plan.mel_blocks:
                torch.mm(w, st[lo:hi], out=mel[g0:g1])
            out[j : j + c] = mel.numpy().T
        log_e = None
        if energy is not None:
            log_e = log_floor(torch.from_numpy(energy), FLT_EPSILON)
        return self.finish(torch.from_numpy(out), log_e)

    def compute_padded(
        self,
        waves: torch.Tensor,
        lengths: torch.Tensor,
        consts: Consts,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Whole padded batch at once (the GPU path).

        Args:
            waves: ``(batch, time)``.
            lengths: int64 ``(batch,)`` valid samples per row.

        Returns:
            ``(features (batch, max_frames, dim), frame counts (batch,))``; rows past each
            count are zero.
        """
        fo = self.frame_opts
        counts = num_frames_tensor(lengths, fo.window_size, fo.window_shift, fo.snip_edges)
        max_frames = int(counts.max().item()) if counts.numel() else 0
        if max_frames == 0:
            return waves.new_zeros((waves.shape[0], 0, self.dim)), counts
        idx = frame_indices(max_frames, fo.window_size, fo.window_shift, fo.snip_edges, lengths, device=waves.device)
        idx = idx.clamp_max(max(waves.shape[-1] - 1, 0))
        b = waves.shape[0]
        frames = torch.gather(waves, 1, idx.reshape(b, -1)).reshape(b, max_frames, fo.window_size)
        x, raw = self.window_frames(frames, consts["window"], generator)
        feats = self.compute_frames(x, raw, consts)
        valid = torch.arange(max_frames, device=waves.device)[None, :] < counts[:, None].to(waves.device)
        return torch.where(valid[..., None], feats, torch.zeros((), dtype=feats.dtype, device=feats.device)), counts

    # -- public entry point ---------------------------------------------------------------
    def __call__(
        self,
        waveform: torch.Tensor,
        *,
        lengths: torch.Tensor | Sequence[int] | None = None,
        sample_rate: float | None = None,
        vtln_warp: float | Sequence[float] = 1.0,
        generator: torch.Generator | None = None,
        batched: bool | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Compute features; see :func:`kaldibridge.kaldi.fbank` for the argument contract."""
        return run_batch(self, waveform, lengths=lengths, sample_rate=sample_rate, vtln_warp=vtln_warp,
                         generator=generator, batched=batched)


def run_batch(
    computer: FeatureComputer,
    waveform: torch.Tensor,
    *,
    lengths: torch.Tensor | Sequence[int] | None = None,
    sample_rate: float | None = None,
    vtln_warp: float | Sequence[float] = 1.0,
    generator: torch.Generator | None = None,
    batched: bool | None = None,
    consts: Consts | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Shared implementation of the public feature functions (see ``fbank``)."""
    if not isinstance(waveform, torch.Tensor):
        raise TypeError(f"waveform must be a torch.Tensor, got {type(waveform).__name__}")
    if waveform.dim() not in (1, 2):
        raise ValueError(f"waveform must be (time,) or (batch, time), got shape {tuple(waveform.shape)}")
    if not waveform.is_floating_point():
        waveform = waveform.to(torch.float32)
    single = waveform.dim() == 1
    waves = waveform[None] if single else waveform
    b, t = waves.shape
    fo = computer.frame_opts
    if lengths is None:
        lens = None
    else:
        lens = torch.as_tensor(lengths, dtype=torch.int64, device=waves.device).reshape(-1)
        if lens.shape[0] != b:
            raise ValueError(f"lengths has {lens.shape[0]} entries for a batch of {b}")
        if bool((lens < 0).any()) or bool((lens > t).any()):
            raise ValueError(f"lengths must lie in [0, {t}]")
    if sample_rate is not None and f32(sample_rate) != f32(fo.sample_frequency):
        if lens is not None:
            # resample each utterance on its own, then re-pad
            pieces = [resample_to_config(waves[i, : int(lens[i])], sample_rate, fo) for i in range(b)]
            lens = torch.tensor([p.shape[-1] for p in pieces], dtype=torch.int64, device=waves.device)
            t = int(lens.max().item()) if b else 0
            waves = torch.stack([torch.nn.functional.pad(p, (0, t - p.shape[-1])) for p in pieces]) if b else waves
        else:
            waves = resample_to_config(waves, sample_rate, fo)
            t = waves.shape[-1]
    if isinstance(vtln_warp, (int, float)):
        warps: list[float] | None = None
        warp0 = float(vtln_warp)
    else:
        warps = [float(w) for w in vtln_warp]
        if len(warps) != b:
            raise ValueError(f"vtln_warp has {len(warps)} entries for a batch of {b}")
        warp0 = warps[0] if warps else 1.0
    if batched is None:
        batched = waves.device.type != "cpu" and warps is None and b > 1
    if batched:
        c = consts if consts is not None else computer.consts(waves.dtype, waves.device, warp0)
        full = lens if lens is not None else torch.full((b,), t, dtype=torch.int64, device=waves.device)
        feats, counts = computer.compute_padded(waves, full, c, generator)
        return (feats[0], counts[0]) if single else (feats, counts)
    outs = []
    for i in range(b):
        w = warps[i] if warps is not None else warp0
        c = consts if (consts is not None and w == warp0) else computer.consts(waves.dtype, waves.device, w)
        row = waves[i] if lens is None else waves[i, : int(lens[i])]
        outs.append(computer.compute_utterance(row, c, generator=generator))
    if single:
        return outs[0], torch.tensor(outs[0].shape[0], dtype=torch.int64)
    counts = torch.tensor([o.shape[0] for o in outs], dtype=torch.int64)
    sizes = [o.shape[0] for o in outs]
    max_frames = max(sizes) if sizes else 0
    if all(o.shape[0] == max_frames for o in outs):
        return torch.stack(outs) if outs else waves.new_zeros((0, 0, computer.dim)), counts
    feats = waves.new_zeros((b, max_frames, computer.dim))
    for i, o in enumerate(outs):
        feats[i, : o.shape[0]] = o
    return feats, counts


def rfft(
    frames: torch.Tensor, n_fft: int, consts: Consts, mode: str = "kaldi", ordered: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Kaldi's real FFT of windowed frames ``(..., n) -> (real, imag)`` each ``(..., n_fft/2+1)``.

    Kaldi: ``SplitRadixRealFft`` / ``RealFft``: a complex FFT of half length followed by a
    split step whose twiddle factors Kaldi generates by repeated float32 multiplication;
    that step and its twiddles are reproduced exactly. With ``mode="kaldi"`` the
    half-length complex FFT is Kaldi's split-radix (or, for other sizes, mixed-radix)
    algorithm with Kaldi's rounding; with ``mode="torch"`` it is ``torch.fft.fft`` (faster;
    log energies of bins far below the frame's total energy then differ from Kaldi's, see
    :func:`kaldibridge.kaldi.fbank`'s ``fft`` argument).
    """
    tw = (consts["twiddle_re"], consts["twiddle_im"])
    if mode == "torch":
        return half_complex_rfft(frames, n_fft, tw, complex_fft="torch", ordered=ordered)
    return half_complex_rfft(
        frames, n_fft, tw, complex_fft="split_radix", fft_tables=consts.get("_fft"), ordered=ordered
    )


def power_spectrum(
    frames: torch.Tensor, n_fft: int, consts: Consts, power: bool = True, mode: str = "kaldi", ordered: bool = True
) -> torch.Tensor:
    """Kaldi's ``ComputePowerSpectrum`` after :func:`rfft` (``re^2 + im^2``; sqrt if not power).

    With ``ordered=False`` the bins come in the order of ``consts["mel_t_unordered"]``'s rows
    (a permutation that saves a copy; use it only before a product with those weights).
    """
    re, im = rfft(frames, n_fft, consts, mode, ordered)
    p = re * re + im * im
    return p if power else torch.sqrt(p)


def energy_floor_log(energy_floor: float) -> float | None:
    """``log(energy_floor)`` in float32 if the floor is positive, else ``None``."""
    ef = f32(energy_floor)
    return f32(math.log(ef)) if ef > 0.0 else None


def floored_log_energy(log_energy: torch.Tensor | None, energy_floor: float, feature: str) -> torch.Tensor:
    """Frame log energies ``(...)`` raised to ``log(energy_floor)`` where the floor is positive.

    Raises:
        ValueError: ``log_energy`` is ``None`` (``feature`` names the computer that needs it).
    """
    if log_energy is None:
        raise ValueError(f"{feature} needs the frame log energy")
    floor = energy_floor_log(energy_floor)
    return log_energy if floor is None else torch.clamp_min(log_energy, floor)
