"""`python -m motcua.cli`: the same as the `motcua` console script."""

from motcua.cli import app

app()
