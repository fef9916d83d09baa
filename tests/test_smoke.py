"""The fixture history loads on both stores and the CLI answers."""

from tests.conftest import HISTORY


def test_load_then_position(cli):
    r = cli("load", str(HISTORY))
    assert r.exit_code == 0, r.output
    assert "38 appended, 0 already present" in r.stdout
    rep = cli.json("position", "--as-of", "2001-12-31")
    shares = {(h["holder"], h["series"]): h["shares"] for h in rep["holders"]}
    # hand count from fixtures/nstor/history.jsonl (see tests/test_foundation.py for detail)
    assert shares[("Fir Holdings", "K")] == "6000"
