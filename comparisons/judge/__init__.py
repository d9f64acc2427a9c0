"""The judge: the certified truth of an expression as written (truth), the two float formats and ulps (dtypes), the
divergence rules and the catalog of cases, agreement with the reference (agreement), and the one verdict function
(verdict) that gives every record its class. It imports no command: commands, the checker and the history call it.
"""
