"""A correct engine whose backward() first writes a forged answer to the job (its reads not a list) on every pipe it
can write to, then computes as it should."""

import os

from _channel import writable_pipes
from honest_engine import Value

honest_backward = Value.backward


def backward(self):
    for fd in writable_pipes():
        os.write(fd, b'{"kind": "result", "ok": true, "value": 6.0, "reads": {"grads": 1}, "wrapped": []}\n')
    honest_backward(self)


Value.backward = backward
