"""Figures the reliability tests print (trials, cases, processes), shown even
under pytest's output capture so that ``.ci/run`` (``pytest -q``) prints them."""

from __future__ import annotations

import pytest


def show(capsys: pytest.CaptureFixture[str], text: str) -> None:
    with capsys.disabled():
        print("\n" + text.lstrip("\n"), flush=True)
