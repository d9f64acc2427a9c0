"""Bug: the module trains "until the loss is zero" at import time, a loop that never ends."""


class Value:
    def __init__(self, data):
        self.data = data
        self.grad = 0.0


loss = 1.0
while loss > 0:  # the checker must stop this with its import timeout
    loss = abs(loss - 0.0)
