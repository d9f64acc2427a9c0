"""The yardstick: the judge (judge/), the commands (commands/), a learner's engine checked (check/), the performance
history (history/), and the tables, files and charts they show (render).
"""
