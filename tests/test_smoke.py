"""The fixture history loads on both stores and the CLI answers."""

from tests.conftest import HISTORY


def test_load_then_position(cli):
    n = sum(1 for line in HISTORY.read_text().splitlines() if line.strip())
    r = cli("load", str(HISTORY))
    assert r.exit_code == 0, r.output
    assert f"{n} appended, 0 already present" in r.stdout
    rep = cli.json("position", "--as-of", "2001-12-31")
    shares = {(h["holder"], h["series"]): h["shares"] for h in rep["holders"]}
    # nstor-0017: 6,000 K to Fir Holdings on 2001-11-30 (tests/test_foundation.py counts all)
    assert shares[("Fir Holdings", "K")] == "6000"
    table = cli("position", "--as-of", "2001-12-31")
    assert table.exit_code == 0
    assert "Fir Holdings" in table.stdout and "common" in table.stdout
