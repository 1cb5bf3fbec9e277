"""Replaying stored conversations: the Rich rendering shared with `button show`, forks (re-simulating a
conversation from turn K with one setting changed) and the interactive Textual app. The app module is
the only one that imports Textual, so `button show` and `button replay --plain` start without it."""
