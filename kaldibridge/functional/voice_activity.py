"""SoX's trigger voice-activity detector (``sox ... vad``) with torchaudio's names.

Every ``1 / measure_freq`` seconds a Hann-windowed spectrum of the last
``measure_duration`` seconds (``hp_filter_freq`` .. ``lp_filter_freq``) is smoothed, a
running noise spectrum (learnt during ``boot_time``, then tracked up and down) is
subtracted, and the power of the liftered cepstrum (pitch periods between
``1 / lp_lifter_freq`` and ``1 / hp_lifter_freq``) gives the measure
``max(0, 21 + ln(power))``. When its smoothed value reaches ``trigger_level`` the audio is
kept from up to ``search_time`` earlier: back to where quieter bursts, separated by at most
``allowed_gap``, last fell to zero, plus ``pre_trigger_time``.

The per-measure recursion (spectrum smoothing and the noise tracker, which goes up and
down with the data) runs as one loop step per measure for the whole batch; the windowed
FFTs, cepstra, the trigger search and the look-back are array operations. In eager mode
the loop stops once every signal has triggered.

The module is not named ``vad`` so that importing it never hides the function
``kaldibridge.functional.vad``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from kaldibridge.errors import OptionError
from kaldibridge.functional._compile import is_compiling as _is_compiling
from kaldibridge.functional.effects import _check_float

__all__ = ["vad", "vad_start"]

_FIRST_CHUNK = 16  # measures whose FFTs are taken together; doubles up to _MAX_CHUNK
_MAX_CHUNK = 256


def _hann(n: int, device: torch.device) -> Tensor:
    """SoX's ``lsx_apply_hann`` window: ``0.5 - 0.5 cos(2 pi i / (n - 1))`` (``[1]`` for
    ``n == 1``, as torch gives it)."""
    return torch.hann_window(n, periodic=False, dtype=torch.float64, device=device)


def vad_start(
    waveform: Tensor,
    sample_rate: int,
    trigger_level: float = 7.0,
    trigger_time: float = 0.25,
    search_time: float = 1.0,
    allowed_gap: float = 0.25,
    pre_trigger_time: float = 0.0,
    boot_time: float = 0.35,
    noise_up_time: float = 0.1,
    noise_down_time: float = 0.01,
    noise_reduction_amount: float = 1.35,
    measure_freq: float = 20.0,
    measure_duration: float | None = None,
    measure_smooth_time: float = 0.4,
    hp_filter_freq: float = 50.0,
    lp_filter_freq: float = 6000.0,
    hp_lifter_freq: float = 150.0,
    lp_lifter_freq: float = 2000.0,
    *,
    multichannel: bool = False,
) -> Tensor:
    """Where SoX's ``vad`` would start the output, for a batch of signals.

    Args:
        waveform: ``(..., time)`` float tensor; every leading index is one signal. With
            ``multichannel=True`` it is ``(..., channel, time)`` and the channels of a
            recording trigger together (the output of each starts at the first trigger
            of any of its channels, as SoX does).
        sample_rate: Hz.
        trigger_level: measure level that triggers.
        trigger_time: time constant (s) smoothing the measure before the trigger test.
        search_time: how far (s) before the trigger to look for quieter speech.
        allowed_gap: longest gap (s) between bursts included in the look-back.
        pre_trigger_time: extra audio (s) kept before the start found.
        boot_time: time (s) for the initial noise estimate.
        noise_up_time: time constant (s) of the noise tracker when the level rises.
        noise_down_time: time constant (s) of the noise tracker when the level falls.
        noise_reduction_amount: multiple of the noise spectrum subtracted.
        measure_freq: measures per second.
        measure_duration: length (s) of each measure; default two measure periods.
        measure_smooth_time: time constant (s) smoothing the spectra.
        hp_filter_freq: lowest frequency (Hz) analysed.
        lp_filter_freq: highest frequency (Hz) analysed.
        hp_lifter_freq: lowest pitch (Hz) in the cepstral measure.
        lp_lifter_freq: highest pitch (Hz) in the cepstral measure.
        multichannel: see ``waveform``.

    Returns:
        int64 tensor ``(...)`` (without the channel dimension when ``multichannel``): the
        index of the first kept sample. ``time`` when nothing triggered (empty output);
        negative ``-p`` when the output begins with ``p`` zeros (SoX's buffer before the
        start of the audio, reachable with a ``pre_trigger_time`` or an early trigger).

    Raises:
        OptionError: non-positive times or rates, an empty lifter range, an integer
            waveform, or ``multichannel`` with a 1-D input.
    """
    _check_float(waveform, "vad")
    if multichannel and waveform.ndim < 2:
        raise OptionError("vad: multichannel=True needs a (..., channel, time) waveform")
    for name, value in (
        ("sample_rate", sample_rate), ("trigger_time", trigger_time), ("boot_time", boot_time),
        ("noise_up_time", noise_up_time), ("noise_down_time", noise_down_time), ("measure_freq", measure_freq),
        ("measure_smooth_time", measure_smooth_time), ("lp_lifter_freq", lp_lifter_freq),
        ("hp_lifter_freq", hp_lifter_freq),
    ):
        if not value > 0:
            raise OptionError(f"vad: {name} must be positive, got {value!r}")
    for name, value in (("search_time", search_time), ("allowed_gap", allowed_gap), ("pre_trigger_time", pre_trigger_time)):
        if not value >= 0:
            raise OptionError(f"vad: {name} must not be negative, got {value!r}")
    duration = 2.0 / measure_freq if measure_duration is None else measure_duration
    if not duration > 0:
        raise OptionError(f"vad: measure_duration must be positive, got {measure_duration!r}")

    device = waveform.device
    n = waveform.shape[-1]
    lead = waveform.shape[:-2] if multichannel else waveform.shape[:-1]
    channels = waveform.shape[-2] if multichannel else 1
    x = waveform.reshape(math.prod(lead), channels, n).to(torch.float64)
    groups = x.shape[0]

    fixed_pre = int(pre_trigger_time * sample_rate + 0.5)
    mlen = int(sample_rate * duration + 0.5)
    if mlen < 1:
        raise OptionError(f"vad: measure_duration={duration} is shorter than one sample")
    dft = 16
    while dft < mlen:
        dft <<= 1
    period = max(int(sample_rate / measure_freq + 0.5), 1)
    nmeas = math.ceil(search_time * measure_freq)
    gap = int(allowed_gap * measure_freq + 0.5)
    samples_len = fixed_pre + nmeas * period + mlen
    s0 = max(int(hp_filter_freq / sample_rate * dft + 0.5), 1)
    s1 = min(int(lp_filter_freq / sample_rate * dft + 0.5), dft // 2)
    c0 = math.ceil(sample_rate * 0.5 / lp_lifter_freq)
    c1 = min(math.floor(sample_rate * 0.5 / hp_lifter_freq), dft // 4)
    if s1 <= s0:
        raise OptionError(f"vad: the analysed band {hp_filter_freq}..{lp_filter_freq} Hz is empty at {sample_rate} Hz")
    if c1 <= c0:
        raise OptionError(
            f"vad: the lifter range {hp_lifter_freq}..{lp_lifter_freq} Hz is empty at {sample_rate} Hz"
        )
    spec_win = _hann(mlen, device) * (2.0 / math.sqrt(mlen))
    cep_win = _hann(s1 - s0, device) * (2.0 / math.sqrt(s1 - s0))
    up = math.exp(-1.0 / (noise_up_time * measure_freq))
    down = math.exp(-1.0 / (noise_down_time * measure_freq))
    smooth = math.exp(-1.0 / (measure_smooth_time * measure_freq))
    trig_mult = math.exp(-1.0 / (trigger_time * measure_freq))
    boot_max = int(boot_time * measure_freq - 0.5)

    count = (n - mlen) // period + 1 if n >= mlen else 0
    never = torch.full((groups,), n, dtype=torch.int64, device=device)
    if count == 0 or groups == 0:
        return never.reshape(lead)

    rows = groups * channels
    xr = x.reshape(rows, n)
    spectrum = torch.zeros(rows, s1 - s0, dtype=torch.float64, device=device)
    noise = torch.zeros_like(spectrum)
    mean = torch.zeros(rows, dtype=torch.float64, device=device)
    meas_chunks: list[Tensor] = []
    mean_chunks: list[Tensor] = []
    eager = not _is_compiling()
    first = 0
    chunk = _FIRST_CHUNK
    while first < count:
        last = min(first + chunk, count)
        frames = xr[:, first * period : (last - 1) * period + mlen].unfold(-1, mlen, period)  # (rows, K, mlen)
        mags = torch.fft.rfft(frames * spec_win, dft).abs()[..., s0:s1]
        # measure i keeps i / (i + 1) of the spectrum while booting (a running mean)
        mults = [i / (1.0 + i) if i <= boot_max else smooth for i in range(first, last)]
        mult_t = torch.tensor(mults, dtype=torch.float64, device=device)
        fresh = mags * (1 - mult_t).view(1, -1, 1)  # the new spectrum's share, per measure
        powers = []
        noises = []
        for k, mult in enumerate(mults):
            spectrum = spectrum * mult + fresh[:, k]
            power = spectrum * spectrum
            if first + k <= boot_max:  # booting (boot_max >= 0): the noise copies the spectrum
                noise = power
            else:
                nmult = torch.where(power > noise, up, down)
                noise = noise * nmult + power * (1 - nmult)
            powers.append(power)
            noises.append(noise)
        power_t = torch.stack(powers, dim=1)
        cleaned = torch.sqrt((power_t - noise_reduction_amount * torch.stack(noises, dim=1)).clamp(min=0.0))
        seq = torch.nn.functional.pad(cleaned * cep_win, (s0, dft // 2 - s1))
        cep = torch.fft.rfft(seq)[..., c0:c1]
        cep_power = (cep.real.square() + cep.imag.square()).sum(-1) / (c1 - c0)
        meas = torch.where(
            cep_power > 0, (21.0 + torch.log(cep_power.clamp(min=1e-300))).clamp(min=0.0), torch.zeros_like(cep_power)
        )  # (rows, K)
        means = []
        for k in range(last - first):
            mean = mean * trig_mult + meas[:, k] * (1 - trig_mult)
            means.append(mean)
        meas_chunks.append(meas)
        mean_chunks.append(torch.stack(means, dim=1))
        if eager and bool((mean_chunks[-1] >= trigger_level).reshape(groups, -1).any(-1).all()):
            break
        first = last
        chunk = min(2 * chunk, _MAX_CHUNK)
    history = torch.cat(meas_chunks, dim=1).reshape(groups, channels, -1)  # (G, C, K)
    fired = torch.cat(mean_chunks, dim=1).reshape(groups, channels, -1) >= trigger_level

    group_fired = fired.any(1)  # (G, K)
    triggered = group_fired.any(-1)  # (G,)
    k_trig = torch.where(triggered, group_fired.to(torch.int8).argmax(-1), torch.zeros_like(triggered, dtype=torch.int64))
    # SoX tests the channels in order and keeps testing once one has triggered: channel c
    # takes part in the look-back if it or an earlier channel reached the level.
    at_trigger = fired.gather(-1, k_trig.view(groups, 1, 1).expand(groups, channels, 1)).squeeze(-1)
    taking_part = at_trigger.to(torch.int64).cumsum(-1) > 0  # (G, C)
    # Look back over the last nmeas measures (zeros before the first one).
    j = torch.arange(nmeas, device=device)
    back = k_trig.view(groups, 1) - j.view(1, nmeas)  # (G, nmeas)
    looked = history.gather(-1, back.clamp(min=0).view(groups, 1, nmeas).expand(groups, channels, nmeas))
    looked = torch.where((back >= 0).view(groups, 1, nmeas), looked, torch.zeros((), dtype=looked.dtype, device=device))
    j_trig = torch.full((groups, channels), nmeas, dtype=torch.int64, device=device)
    j_zero = j_trig.clone()
    for step in range(nmeas):
        v = looked[..., step]
        loud = (v >= trigger_level) & (step <= j_trig + gap)
        quiet = ~loud & (v == 0) & (j_trig >= j_zero)
        j_trig = torch.where(loud, step, j_trig)
        j_zero = torch.where(loud | quiet, step, j_zero)
    flush = torch.where(taking_part, j_zero.clamp(max=nmeas), torch.zeros_like(j_zero)).amax(-1).clamp(max=nmeas)
    consumed = mlen + k_trig * period
    start = consumed + (nmeas - flush) * period - samples_len
    return torch.where(triggered, start, never).reshape(lead)


def vad(
    waveform: Tensor,
    sample_rate: int,
    trigger_level: float = 7.0,
    trigger_time: float = 0.25,
    search_time: float = 1.0,
    allowed_gap: float = 0.25,
    pre_trigger_time: float = 0.0,
    boot_time: float = 0.35,
    noise_up_time: float = 0.1,
    noise_down_time: float = 0.01,
    noise_reduction_amount: float = 1.35,
    measure_freq: float = 20.0,
    measure_duration: float | None = None,
    measure_smooth_time: float = 0.4,
    hp_filter_freq: float = 50.0,
    lp_filter_freq: float = 6000.0,
    hp_lifter_freq: float = 150.0,
    lp_lifter_freq: float = 2000.0,
) -> Tensor:
    """Trim leading non-speech like SoX's ``vad`` effect (torchaudio's ``F.vad``).

    To trim the end as well, run it on the time-reversed output and reverse back. For a
    batch of independent signals (whose outputs have different lengths) use
    :func:`vad_start`, which takes the same parameters.

    Args:
        waveform: ``(time,)`` or ``(channel, time)`` float tensor; the channels of one
            recording trigger together.
        sample_rate: Hz.
        trigger_level: measure level that triggers.
        trigger_time: time constant (s) smoothing the measure before the trigger test.
        search_time: how far (s) before the trigger to look for quieter speech.
        allowed_gap: longest gap (s) between bursts included in the look-back.
        pre_trigger_time: extra audio (s) kept before the start found.
        boot_time: time (s) for the initial noise estimate.
        noise_up_time: time constant (s) of the noise tracker when the level rises.
        noise_down_time: time constant (s) of the noise tracker when the level falls.
        noise_reduction_amount: multiple of the noise spectrum subtracted.
        measure_freq: measures per second.
        measure_duration: length (s) of each measure; default two measure periods.
        measure_smooth_time: time constant (s) smoothing the spectra.
        hp_filter_freq: lowest frequency (Hz) analysed.
        lp_filter_freq: highest frequency (Hz) analysed.
        hp_lifter_freq: lowest pitch (Hz) in the cepstral measure.
        lp_lifter_freq: highest pitch (Hz) in the cepstral measure.

    Returns:
        ``(..., time')`` tensor of ``waveform``'s dtype: the samples from the start found
        on (a copy), preceded by zeros where SoX would emit them; empty when nothing
        triggered.

    Raises:
        OptionError: a waveform with more than 2 dimensions (use :func:`vad_start`), or
            the parameter errors of :func:`vad_start`.

    ``torch.compile(fullgraph=True)`` cannot capture this function (the output length
    depends on the data); it can capture :func:`vad_start`.

    Differences:
        torchaudio warns and treats every leading dimension as a channel when given more
        than 2 dimensions; here that is refused. Where the output starts before the
        audio, torchaudio's negative slice wraps around; here the zeros SoX outputs are
        prepended. Measures are computed in float64 (torchaudio: float32).
    """
    if waveform.ndim > 2:
        raise OptionError(
            f"vad: expected (time,) or (channel, time), got {waveform.ndim} dimensions; "
            "for a batch use vad_start() and slice each signal"
        )
    params = dict(
        trigger_level=trigger_level, trigger_time=trigger_time, search_time=search_time,
        allowed_gap=allowed_gap, pre_trigger_time=pre_trigger_time, boot_time=boot_time,
        noise_up_time=noise_up_time, noise_down_time=noise_down_time,
        noise_reduction_amount=noise_reduction_amount, measure_freq=measure_freq,
        measure_duration=measure_duration, measure_smooth_time=measure_smooth_time,
        hp_filter_freq=hp_filter_freq, lp_filter_freq=lp_filter_freq,
        hp_lifter_freq=hp_lifter_freq, lp_lifter_freq=lp_lifter_freq,
    )
    start = int(vad_start(waveform, sample_rate, multichannel=waveform.ndim == 2, **params))
    if start >= 0:
        return waveform[..., start:].clone()
    zeros = waveform.new_zeros(*waveform.shape[:-1], -start)
    return torch.cat([zeros, waveform], dim=-1)
