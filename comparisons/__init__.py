"""The yardstick: the case catalog, the side-by-side runs (gradients, training, speed), the report and the asv suites."""
