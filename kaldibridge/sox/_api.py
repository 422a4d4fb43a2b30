"""Public entry points: :func:`apply_effects_tensor`, :func:`apply_effects_file`,
:func:`effect_names`."""

from __future__ import annotations

import os
from typing import Sequence

import torch

from kaldibridge.errors import OptionError
from kaldibridge.sox._args import EffectUsageError
from kaldibridge.sox._chain import REGISTRY, Context, Effect, Stream, quantize

__all__ = ["apply_effects_tensor", "apply_effects_file", "effect_names", "build_chain"]

_SCALE = 2.0**31


def effect_names() -> list[str]:
    """Names of the SoX effects this package implements, sorted."""
    return sorted(REGISTRY)


def build_chain(effects: Sequence[Sequence[str]]) -> list[Effect]:
    """Parse a chain given as on the ``sox`` command line (``[["gain", "-n"], ...]``).

    Raises:
        EffectUsageError: unknown effect or invalid arguments (``sox`` exit status 1).
    """
    chain: list[Effect] = []
    for i, spec in enumerate(effects):
        if isinstance(spec, str) or not spec:
            raise EffectUsageError(str(spec), f"effect {i} must be a non-empty list of strings, got {spec!r}")
        name, *args = [str(s) for s in spec]
        cls = REGISTRY.get(name)
        if cls is None:
            raise EffectUsageError(name, f"unknown effect (effect {i}); known: {', '.join(effect_names())}")
        chain.append(cls(name, args))
    return chain


def _to_stream(waveform: torch.Tensor, channels_first: bool) -> tuple[torch.Tensor, tuple[int, ...]]:
    if waveform.ndim not in (1, 2, 3):
        raise OptionError(f"waveform must be (time), (channels, time) or (batch, channels, time); got shape {tuple(waveform.shape)}")
    x = waveform
    if x.ndim == 1:
        x = x.unsqueeze(0)
    elif not channels_first:
        x = x.transpose(-1, -2)
    if x.ndim == 2:
        x = x.unsqueeze(0)
    if x.dtype == torch.int16:
        return x.to(torch.float64).mul_(1 / 32768.0), tuple(waveform.shape)
    if x.dtype == torch.int32:
        return x.to(torch.float64).mul_(1 / _SCALE), tuple(waveform.shape)
    if x.dtype == torch.uint8:
        return (x.to(torch.float64) - 128.0).mul_(1 / 128.0), tuple(waveform.shape)
    if not x.is_floating_point():
        raise OptionError(f"unsupported waveform dtype {x.dtype}")
    # SoX reads floats as round(x * 2**31), saturated (scaling by 2**31 is exact).
    xf = x.to(torch.float64, copy=True).mul_(_SCALE).round_().clamp_(-_SCALE, _SCALE - 1)
    return xf.mul_(1 / _SCALE), tuple(waveform.shape)


def apply_effects_tensor(
    waveform: torch.Tensor,
    sample_rate: int,
    effects: Sequence[Sequence[str]],
    channels_first: bool = True,
    output_sample_rate: int | None = None,
    *,
    precision: int | None = None,
    reports: list[str] | None = None,
) -> tuple[torch.Tensor, int]:
    """Run a SoX effects chain on a tensor, the way the ``sox`` program runs it.

    The chain is given as on the command line, one list of strings per effect
    (``[["gain", "-n"], ["speed", "1.1"], ["rate", "16000"]]``) and parsed with SoX's
    rules. The chain semantics are those of ``sox in.wav out.wav EFFECTS``: the output
    rate defaults to the input rate, so after ``speed``, ``pitch``, ``upsample`` or
    ``downsample`` SoX's own ``rate`` effect is appended to resample back (this differs
    from torchaudio's removed ``sox_effects``, which returned e.g. 17600 Hz after
    ``speed 1.1``; pass ``output_sample_rate`` to choose the output rate, like ``-r``).
    A channel count changed by an effect (``reverb`` on mono input) is averaged back with
    an automatic ``channels``. Between effects samples are rounded to SoX's 32-bit grid
    and saturated; saturation is logged as a warning (logger ``kaldibridge.sox``) as sox
    prints it. Computation is float64 on ``waveform``'s device.

    Args:
        waveform: ``(time)``, ``(channels, time)`` or ``(batch, channels, time)``
            (``(..., time, channels)`` when ``channels_first=False``); float in [-1, 1]
            or int16/int32 PCM. Each batch item is processed as one file.
        sample_rate: input rate in Hz.
        effects: the chain, e.g. ``[["highpass", "100"], ["reverb", "50"]]``.
        channels_first: layout of ``waveform`` and of the result.
        output_sample_rate: the output file's rate (``sox -r``); default: the input rate.
        precision: significant bits of the input as sox would see the file (16 for
            16-bit PCM); used by the level detectors of ``silence``. Default from the
            dtype: int16 16, float32 24, otherwise 32.
        reports: if given, the text that reporting effects (``stat``) print is appended
            to it, one string per effect and batch item (it is also logged at INFO).

    Returns:
        ``(waveform, sample_rate)``: float32 (float64 if the input was float64), same
        layout and rank as the input; the channel count can change (``remix``, ``channels``).

    Raises:
        EffectUsageError: unknown effect or invalid arguments (``sox`` exit status 1).
        EffectRefusedError: an effect refuses the signal (``sox`` exit status 2), e.g.
            ``deemph`` at 16 kHz or ``remix 2`` on mono input.
        OptionError: a bad waveform shape or dtype, or batch items that would get
            different lengths (``vad``, ``silence``).
    """
    chain = build_chain(effects)
    x, shape = _to_stream(waveform, channels_first)
    out_rate = float(output_sample_rate) if output_sample_rate is not None else None
    out_channels = None
    for eff in reversed(chain):
        if out_rate is None and eff.declared_rate is not None:
            out_rate = eff.declared_rate
        if out_channels is None and eff.declared_channels is not None:
            out_channels = eff.declared_channels
    ctx = Context(
        out_rate=float(sample_rate) if out_rate is None else out_rate,
        out_channels=int(x.shape[1]) if out_channels is None else out_channels,
    )
    if precision is None:
        precision = {torch.int16: 16, torch.uint8: 8, torch.float32: 24}.get(waveform.dtype, 32)
    st = Stream(x, float(sample_rate), int(x.shape[1] * x.shape[2]), int(precision))
    split = next((i for i, e in enumerate(chain) if e.name == "dither"), len(chain))
    for eff in chain[:split]:
        st = _run(eff, st, ctx)
    for eff in _auto_effects(st, ctx):
        st = _run(eff, st, ctx)
    for eff in chain[split:]:
        st = _run(eff, st, ctx)
    if reports is not None:
        reports.extend(ctx.reports)
    y = st.x
    out_dtype = torch.float64 if waveform.dtype == torch.float64 else torch.float32
    y = y.to(out_dtype)
    if len(shape) < 3:
        y = y[0]
    if len(shape) == 1 and y.shape[0] == 1:
        y = y[0]
    if not channels_first and y.ndim >= 2:
        y = y.transpose(-1, -2)
    rate = st.rate
    return y, int(rate) if float(rate).is_integer() else rate  # type: ignore[return-value]


def _run(eff: Effect, st: Stream, ctx: Context) -> Stream:
    out = eff.apply(st, ctx)
    if out is st:
        return st
    if eff.quantize_output and out.x is not st.x and not eff.modify_only:
        # effects that only move samples (SOX_EFF_MODIFY) stay on the int32 grid
        out = Stream(quantize(out.x, eff.name, ctx), out.rate, out.length, out.precision)
    if not eff.modify_only:
        out.precision = 32
    return out


def _auto_effects(st: Stream, ctx: Context) -> list[Effect]:
    """SoX's automatic ``rate``/``channels`` at the end of the user chain."""
    out: list[Effect] = []
    def rate_cls(name: str, args: list[str]) -> Effect:
        if "rate" not in REGISTRY:
            raise EffectUsageError("rate", "the automatic `rate' effect is not implemented yet")
        return REGISTRY["rate"](name, args)

    chan_cls = REGISTRY["channels"]
    rate_differs = st.rate != ctx.out_rate
    if st.channels < ctx.out_channels and rate_differs:
        out.append(rate_cls("rate", []))
        rate_differs = False
    if st.channels != ctx.out_channels:
        ch = chan_cls("channels", [])
        ch.keep_length = True  # type: ignore[attr-defined]
        out.append(ch)
    if rate_differs:
        out.append(rate_cls("rate", []))
    return out


def apply_effects_file(
    path: str | os.PathLike[str],
    effects: Sequence[Sequence[str]],
    normalize: bool = True,
    channels_first: bool = True,
    format: str | None = None,  # noqa: A002 - torchaudio's keyword
    output_sample_rate: int | None = None,
    *,
    reports: list[str] | None = None,
) -> tuple[torch.Tensor, int]:
    """Load an audio file and run a SoX effects chain on it (see :func:`apply_effects_tensor`).

    Args:
        path: audio file (anything :func:`kaldibridge.io.load` reads).
        effects: the chain.
        normalize: return float32 in [-1, 1]; ``False`` returns int32 PCM (SoX's
            internal sample format) of the result.
        channels_first: ``(channels, time)`` if True else ``(time, channels)``.
        format: container/codec hint passed to the loader.
        output_sample_rate: the output rate (``sox -r``); default: the input rate.
        reports: collects the text of reporting effects (see :func:`apply_effects_tensor`).

    Returns:
        ``(waveform, sample_rate)``.
    """
    try:
        from kaldibridge.io import load
    except ImportError:  # pragma: no cover - io is part of the package
        load = None  # type: ignore[assignment]
    precision = None
    if load is not None:
        wav, sr = load(path, normalize=True, channels_first=True, format=format)
        try:
            from kaldibridge.io import info

            meta = info(path, format=format)
            bits = int(getattr(meta, "bits_per_sample", 0) or 0)
            if str(getattr(meta, "encoding", "")).upper() == "PCM_F":
                bits = 24 if bits == 32 else 32
            precision = bits if 0 < bits <= 32 else None
        except Exception:  # noqa: BLE001 - precision is a refinement only
            precision = None
    else:  # pragma: no cover
        import soundfile

        data, sr = soundfile.read(os.fspath(path), dtype="float64", always_2d=True)
        wav = torch.from_numpy(data.T.copy())
    y, rate = apply_effects_tensor(wav.to(torch.float64) if wav.dtype == torch.float64 else wav, sr, effects,
                                   channels_first=True, output_sample_rate=output_sample_rate,
                                   precision=precision, reports=reports)
    y = y.to(torch.float32)
    if not normalize:
        y = torch.round(y.to(torch.float64) * _SCALE).clamp(-_SCALE, _SCALE - 1).to(torch.int32)
    if not channels_first:
        y = y.transpose(0, 1)
    return y, rate
