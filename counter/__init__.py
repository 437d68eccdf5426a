"""Counter-side programs: clients of the daemon (the demo's counters, enrolment of a counter PC).

They talk to ``hostd`` over HTTPS only and import none of its internals; the daemon imports
nothing from here (``comptoir serve`` never loads this package).
"""
