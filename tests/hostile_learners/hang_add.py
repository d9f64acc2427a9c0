"""An engine whose __add__ never returns: every probe that adds hangs (the whole check's deadline ends it)."""

import honest_engine


class Value(honest_engine.Value):
    def __add__(self, other):
        while True:
            pass
