"""SoX's ``rate`` effect (placeholder while the polyphase port is written)."""

from __future__ import annotations

from kaldibridge.sox._args import EffectUsageError
from kaldibridge.sox._chain import Context, Effect, Stream, register


class Rate(Effect):
    usage_text = "[-q|-l|-m|-h|-v] [override-options] RATE[k]"

    def apply(self, st: Stream, ctx: Context) -> Stream:
        raise EffectUsageError(self.name, "not implemented yet")
