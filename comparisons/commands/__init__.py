"""The commands of `python -m comparisons`, one module each (report, grad, train, fuzz, accuracy), the runners they
share (runs), their shared argument handling (cli), and the two speed scripts (engine_speed, training_speed). Each is
a thin layer over the judge (comparisons.judge) and the tables and files (comparisons.render).
"""
