"""``python -m counter enrol …``: the counter-side commands without the box's dependencies
(a Windows counter installs the package and runs this)."""

from counter.enrol import app

app()
