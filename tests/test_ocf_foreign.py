"""OCF packages written by other tools: older and newer 1.x versions, checksums,
dangling references, cancellations, repurchases, common transfers, conversions into
another class, ratio adjustments the ledger does not derive, and the report of what is
not imported. Every expected figure is counted by hand in the test."""

from __future__ import annotations

import hashlib
import json
import zipfile
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ledger.cli import app
from ledger.ocf.importer import read_package

SAMPLES = Path(__file__).parent / "data" / "ocf" / "samples"
FAR = "2999-12-31"


def write_package(root: Path, version: str, classes: list[dict[str, Any]],
                  holders: list[dict[str, Any]], txs: list[dict[str, Any]],
                  bom: bool = False, bad_md5: bool = False) -> Path:
    """A small package as another tool writes it (real md5s unless ``bad_md5``)."""
    root.mkdir(parents=True, exist_ok=True)
    files = {"Stakeholders.ocf.json": ("stakeholders_files", "OCF_STAKEHOLDERS_FILE", holders),
             "StockClasses.ocf.json": ("stock_classes_files", "OCF_STOCK_CLASSES_FILE", classes),
             "Transactions.ocf.json": ("transactions_files", "OCF_TRANSACTIONS_FILE", txs)}
    manifest: dict[str, Any] = {
        "ocf_version": version, "file_type": "OCF_MANIFEST_FILE", "as_of": "2023-01-01",
        "generated_at": "2023-01-01T10:00:00-05:00",
        "issuer": {"object_type": "ISSUER", "id": "iss", "legal_name": "Acme, Inc.",
                   "formation_date": "2019-01-01", "country_of_formation": "US"},
        "stock_plans_files": [], "stock_legend_templates_files": [],
        "valuations_files": [], "vesting_terms_files": []}
    for name, (key, ft, items) in files.items():
        data = ("\ufeff" if bom else "").encode() + json.dumps(
            {"file_type": ft, "items": items}).encode()
        (root / name).write_bytes(data)
        digest = "0" * 32 if bad_md5 else hashlib.md5(data).hexdigest()
        manifest[key] = [{"filepath": f"./{name}", "md5": digest}]
    (root / "Manifest.ocf.json").write_text(json.dumps(manifest))
    return root


def stakeholder(sid: str, name: str) -> dict[str, Any]:
    return {"object_type": "STAKEHOLDER", "id": sid, "name": {"legal_name": name},
            "stakeholder_type": "INDIVIDUAL"}


def stock_class(cid: str, kind: str, auth: str, **more: Any) -> dict[str, Any]:
    return {"object_type": "STOCK_CLASS", "id": cid, "name": f"Class {cid}",
            "class_type": kind, "default_id_prefix": f"{cid}-",
            "initial_shares_authorized": auth, "votes_per_share": "1", "seniority": "1",
            **more}


def issue(tid: str, sec: str, cls: str, who: str, qty: str, when: str = "2020-01-01"
          ) -> dict[str, Any]:
    return {"object_type": "TX_STOCK_ISSUANCE", "id": tid, "security_id": sec,
            "date": when, "stakeholder_id": who, "stock_class_id": cls,
            "custom_id": tid, "share_price": {"amount": "1.00", "currency": "USD"},
            "quantity": qty, "security_law_exemptions": [], "stock_legend_ids": []}


def terms_file(tmp: Path, *series: str) -> list[str]:
    out = []
    for s in series:
        p = tmp / f"{s}.terms.json"
        p.write_text(json.dumps({"series": s, "designated": "2019-06-01",
                                 "authorized_shares": "1000", "stated_value": "100",
                                 "par_value": "0.01"}))
        out += ["--terms", str(p)]
    return out


def run(db: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["--db", str(db), *args])


def holdings(db: Path) -> dict[tuple[str, str | None], D]:
    r = run(db, "position", "--as-of", FAR, "--json")
    assert r.exit_code == 0, r.output
    return {(h["series"], h["holder"]): D(h["shares"]) for h in json.loads(r.stdout)["holders"]
            if D(h["shares"]) != 0}


# -- a cap table in the 1.0.0 shape ------------------------------------------------------

HOLDERS = [stakeholder("s-ann", "Ann Lee"), stakeholder("s-bob", "Bob Roe"),
           stakeholder("s-cy", "Cy Poe")]
CLASSES = [stock_class("CS", "COMMON", "1000000"), stock_class("A", "PREFERRED", "1000"),
           stock_class("B", "PREFERRED", "1000")]
TXS = [
    issue("i-ann-cs", "sec-ann-cs", "CS", "s-ann", "9000"),
    issue("i-bob-a", "sec-bob-a", "A", "s-bob", "300"),
    issue("i-cy-a", "sec-cy-a", "A", "s-cy", "200"),
    # 1.0.0 name of an option grant (renamed TX_EQUITY_COMPENSATION_ISSUANCE in 1.1.0)
    {"object_type": "TX_PLAN_SECURITY_ISSUANCE", "id": "opt-1", "security_id": "sec-opt",
     "date": "2020-02-01", "stakeholder_id": "s-cy", "stock_plan_id": "plan",
     "compensation_type": "OPTION", "option_grant_type": "ISO", "quantity": "500",
     "exercise_price": {"amount": "0.10", "currency": "USD"}, "expiration_date": "2030-01-01",
     "termination_exercise_windows": [], "custom_id": "OPT-1", "security_law_exemptions": []},
    # common transfer: Ann 2,500 to Bob, keeps 6,500 as the balance security
    {"object_type": "TX_STOCK_TRANSFER", "id": "t-1", "security_id": "sec-ann-cs",
     "date": "2021-01-01", "quantity": "2500", "resulting_security_ids": ["sec-bob-cs"],
     "balance_security_id": "sec-ann-cs2"},
    issue("i-bob-cs", "sec-bob-cs", "CS", "s-bob", "2500", "2021-01-01"),
    issue("i-ann-cs2", "sec-ann-cs2", "CS", "s-ann", "6500", "2021-01-01"),
    # partial cancellation of Ann's common: 500 of 6,500, no balance security named
    {"object_type": "TX_STOCK_CANCELLATION", "id": "c-1", "security_id": "sec-ann-cs2",
     "date": "2021-06-01", "quantity": "500", "reason_text": "Forfeited on departure"},
    # repurchase of 50 of Bob's 300 Class A at 3.00
    {"object_type": "TX_STOCK_REPURCHASE", "id": "r-1", "security_id": "sec-bob-a",
     "date": "2021-07-01", "quantity": "50", "price": {"amount": "3.00", "currency": "USD"},
     "balance_security_id": "sec-bob-a2"},
    issue("i-bob-a2", "sec-bob-a2", "A", "s-bob", "250", "2021-07-01"),
    # Cy's 200 Class A convert into 100 Class B
    {"object_type": "TX_STOCK_CONVERSION", "id": "v-1", "security_id": "sec-cy-a",
     "date": "2022-01-01", "quantity_converted": "200", "resulting_security_ids": ["sec-cy-b"]},
    issue("i-cy-b", "sec-cy-b", "B", "s-cy", "100", "2022-01-01"),
]


def test_a_1_0_0_cap_table_imports_with_hand_counted_positions(tmp_path: Path) -> None:
    pkg = write_package(tmp_path / "pkg", "1.0.0", CLASSES, HOLDERS, TXS)
    db = tmp_path / "l.db"
    r = run(db, "import-ocf", str(pkg), *terms_file(tmp_path, "A", "B"), "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert any("TX_PLAN_SECURITY_ISSUANCE -> TX_EQUITY_COMPENSATION_ISSUANCE" in n
               for n in out["notes"])
    # the option grant is listed, with its 500 shares, not dropped
    (opt,) = [n for n in out["not_imported"] if n["object_id"] == "opt-1"]
    assert opt["shares"] == "500" and "not tracked" in opt["reason"]
    assert holdings(db) == {
        ("common", "Ann Lee"): D(9000) - 2500 - 500,   # transfer out, then cancellation
        ("common", "Bob Roe"): D(2500),
        ("A", "Bob Roe"): D(300) - 50,                  # repurchase
        ("B", "Cy Poe"): D(100),                        # converted from 200 A
    }
    pos = json.loads(run(db, "position", "--as-of", FAR, "--json").stdout)
    assert D(pos["common_outstanding"]) == D(9000) - 500


def test_the_1_1_0_shape_reads_the_same(tmp_path: Path) -> None:
    txs = [dict(t, object_type="TX_EQUITY_COMPENSATION_ISSUANCE")
           if t["object_type"] == "TX_PLAN_SECURITY_ISSUANCE" else t for t in TXS]
    pkg = write_package(tmp_path / "pkg", "1.1.0", CLASSES, HOLDERS, txs, bom=True)
    db = tmp_path / "l.db"
    r = run(db, "import-ocf", str(pkg), *terms_file(tmp_path, "A", "B"), "--json")
    assert r.exit_code == 0, r.output
    assert holdings(db)[("common", "Ann Lee")] == D(9000) - 2500 - 500


def test_a_1_0_0_pre_release_shape(tmp_path: Path) -> None:
    """Before 1.0.0 a stock class had ``current_shares_authorized``."""
    classes = [{("current_shares_authorized" if k == "initial_shares_authorized" else k): v
                for k, v in c.items()} for c in CLASSES[:1]]
    txs = [issue("i-1", "s1", "CS", "s-ann", "100")]
    pkg = write_package(tmp_path / "pkg", "1.0.0-b3", classes, HOLDERS, txs)
    db = tmp_path / "l.db"
    r = run(db, "import-ocf", str(pkg), "--json")
    assert r.exit_code == 0, r.output
    assert any("current_shares_authorized -> initial_shares_authorized (1 object(s))" in n
               for n in json.loads(r.stdout)["notes"])
    assert holdings(db) == {("common", "Ann Lee"): D(100)}


def test_a_zip_package_with_a_byte_order_mark(tmp_path: Path) -> None:
    pkg = write_package(tmp_path / "pkg", "1.0.0", CLASSES, HOLDERS, TXS, bom=True)
    z = tmp_path / "acme.ocf.zip"
    with zipfile.ZipFile(z, "w") as f:
        for p in pkg.iterdir():
            f.write(p, f"acme/{p.name}")
    db = tmp_path / "l.db"
    r = run(db, "import-ocf", str(z), *terms_file(tmp_path, "A", "B"))
    assert r.exit_code == 0, r.output
    assert holdings(db)[("B", "Cy Poe")] == D(100)


def test_the_cancellation_and_repurchase_events(tmp_path: Path) -> None:
    pkg = write_package(tmp_path / "pkg", "1.0.0", CLASSES, HOLDERS, TXS)
    db = tmp_path / "l.db"
    assert run(db, "import-ocf", str(pkg), *terms_file(tmp_path, "A", "B")).exit_code == 0
    r = run(db, "history", "--json")
    assert r.exit_code == 0, r.output
    events = [e["event"] for e in json.loads(r.stdout)["events"]]
    cancels = {e["id"]: e for e in events if e["type"] == "SharesCancelled"}
    assert cancels["ocf:c-1"]["reason"] == "forfeiture"
    assert cancels["ocf:c-1"]["series"] == "common" and cancels["ocf:c-1"]["shares"] == "500"
    assert cancels["ocf:r-1"]["reason"] == "repurchase"
    assert cancels["ocf:r-1"]["price_per_share"] == "3"


# -- checksums, dangling references, the report ----------------------------------------------

def test_a_checksum_mismatch_is_a_warning_unless_strict(tmp_path: Path) -> None:
    txs = [issue("i-1", "s1", "CS", "s-ann", "100")]
    pkg = write_package(tmp_path / "pkg", "1.2.0", CLASSES[:1], HOLDERS, txs, bad_md5=True)
    db = tmp_path / "l.db"
    r = run(db, "import-ocf", str(pkg), "--strict-checksums", "--json")
    assert r.exit_code == 2
    assert {p["field"] for p in json.loads(r.stdout)["problems"]} == {
        "stakeholders_files[0].md5", "stock_classes_files[0].md5", "transactions_files[0].md5"}
    assert not db.exists()  # a rejected first import leaves no file
    r = run(db, "import-ocf", str(pkg), "--json")
    assert r.exit_code == 0, r.output
    assert len([w for w in json.loads(r.stdout)["warnings"] if w["field"].endswith(".md5")]) == 3
    assert holdings(db) == {("common", "Ann Lee"): D(100)}


def test_a_dangling_reference_is_reported_once_and_every_share_is_accounted(
        tmp_path: Path) -> None:
    txs = [issue("i-1", "s1", "CS", "s-ann", "100"),
           issue("i-2", "s2", "NOPE", "s-ann", "70"), issue("i-3", "s3", "NOPE", "s-bob", "30"),
           issue("i-4", "s4", "CS", "ghost", "40"),
           {"object_type": "TX_STOCK_TRANSFER", "id": "t-1", "security_id": "s2",
            "date": "2021-01-01", "quantity": "70", "resulting_security_ids": ["s5"]},
           issue("i-5", "s5", "NOPE", "s-cy", "70", "2021-01-01")]
    pkg = write_package(tmp_path / "pkg", "1.2.0", CLASSES[:1], HOLDERS, txs)
    db = tmp_path / "l.db"
    r = run(db, "import-ocf", str(pkg), "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    nope = [w for w in out["warnings"] if "'NOPE'" in w["message"]]
    ghost = [w for w in out["warnings"] if "'ghost'" in w["message"]]
    assert len(nope) == 1 and len(ghost) == 1
    skipped = {n["object_id"]: n for n in out["not_imported"]}
    # i-5 is the transfer's resulting security, in the missing class too
    assert sorted(skipped) == ["i-2", "i-3", "i-4", "i-5", "t-1"]
    assert "i-2" in skipped["t-1"]["because"] or "NOPE" in skipped["t-1"]["because"]
    assert holdings(db) == {("common", "Ann Lee"): D(100)}
    # imported + not imported, by class, equals the package's own count: common
    # 100 + 40 issued; NOPE 70 + 30 issued, 70 moved from Ann to Cy
    plan = read_package(pkg)
    by_class: dict[str | None, D] = {}
    for s in plan.skipped:
        for c, _, q in s.effects:
            by_class[c] = by_class.get(c, D(0)) + q
    assert by_class == {"CS": D(40), "NOPE": D(70) + 30 - 70 + 70}
    assert D(100) + by_class["CS"] == D(100) + 40


def test_two_stakeholders_with_one_name_stay_two_holders(tmp_path: Path) -> None:
    holders = [stakeholder("s-1", "Jo Smith"), stakeholder("s-2", "Jo Smith")]
    txs = [issue("i-1", "a", "CS", "s-1", "10"), issue("i-2", "b", "CS", "s-2", "20")]
    pkg = write_package(tmp_path / "pkg", "1.2.0", CLASSES[:1], holders, txs)
    db = tmp_path / "l.db"
    assert run(db, "import-ocf", str(pkg)).exit_code == 0
    assert holdings(db) == {("common", "Jo Smith [s-1]"): D(10),
                            ("common", "Jo Smith [s-2]"): D(20)}


def test_a_common_ratio_adjustment_is_reported_not_rejected(tmp_path: Path) -> None:
    txs = [issue("i-1", "s1", "CS", "s-ann", "100"),
           {"object_type": "TX_STOCK_CLASS_CONVERSION_RATIO_ADJUSTMENT", "id": "adj",
            "date": "2022-11-02", "stock_class_id": "CS",
            "new_ratio_conversion_mechanism": {
                "type": "RATIO_CONVERSION", "rounding_type": "CEILING",
                "conversion_price": {"amount": "0.20", "currency": "USD"},
                "ratio": {"numerator": "1.00", "denominator": "0.20"}}}]
    pkg = write_package(tmp_path / "pkg", "1.2.0", CLASSES[:1], HOLDERS, txs)
    r = run(tmp_path / "l.db", "import-ocf", str(pkg), "--json")
    assert r.exit_code == 0, r.output
    (n,) = json.loads(r.stdout)["not_imported"]
    assert n["object_id"] == "adj" and "(to 5)" in n["reason"]  # 1.00 / 0.20


def test_a_later_version_and_unknown_fields(tmp_path: Path) -> None:
    holders = [dict(stakeholder("s-ann", "Ann Lee"), current_relationships=["FOUNDER"],
                    current_status="ACTIVE")]
    txs = [issue("i-1", "s1", "CS", "s-ann", "100")]
    pkg = write_package(tmp_path / "pkg", "1.2.1-alpha+main", CLASSES[:1], holders, txs)
    r = run(tmp_path / "l.db", "import-ocf", str(pkg), "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert [w["field"] for w in out["warnings"]] == ["current_status"]
    assert any("current_relationships -> current_relationship" in n for n in out["notes"])


@pytest.mark.parametrize("version", ["2.0.0", "0.9"])
def test_other_major_versions_are_refused(tmp_path: Path, version: str) -> None:
    pkg = write_package(tmp_path / "pkg", version, CLASSES[:1], HOLDERS, [])
    db = tmp_path / "l.db"
    r = run(db, "import-ocf", str(pkg), "--json")
    assert r.exit_code == 2
    assert json.loads(r.stdout)["problems"][0]["field"] == "ocf_version"
    assert not db.exists()


def test_a_bad_generated_at_is_a_problem(tmp_path: Path) -> None:
    pkg = write_package(tmp_path / "pkg", "1.2.0", CLASSES[:1], HOLDERS, [])
    m = json.loads((pkg / "Manifest.ocf.json").read_text())
    m["generated_at"] = "2023-13-01T10:00:00Z"
    (pkg / "Manifest.ocf.json").write_text(json.dumps(m))
    r = run(tmp_path / "l.db", "import-ocf", str(pkg), "--json")
    assert r.exit_code == 2
    assert [p["field"] for p in json.loads(r.stdout)["problems"]] == ["generated_at"]


def test_a_manifest_path_out_of_the_package_is_refused_and_the_ledger_unchanged(
        tmp_path: Path) -> None:
    pkg = write_package(tmp_path / "pkg", "1.0.0", CLASSES[:1], HOLDERS, [])
    m = json.loads((pkg / "Manifest.ocf.json").read_text())
    m["transactions_files"][0]["filepath"] = "/".join(["..", "..", "Transactions.ocf.json"])
    (pkg / "Manifest.ocf.json").write_text(json.dumps(m))
    db = tmp_path / "l.db"
    r = run(db, "import-ocf", str(pkg))
    assert r.exit_code == 2 and "goes up with '..'" in r.stderr
    assert not db.exists()


# -- the official 1.2.0 samples, counted by hand ------------------------------------------

def test_the_official_samples_by_hand(tmp_path: Path) -> None:
    """The Seed preferred class has no terms of its own (skipped, or designated from its
    fields where the stock class step builds them); no stock is held by anyone."""
    db = tmp_path / "l.db"
    r = run(db, "import-ocf", str(SAMPLES), "--skip-classes-without-terms", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    types = [e["event"]["type"] for e in json.loads(run(db, "history", "--json").stdout)[
        "events"]]
    assert "CommonStockSplit" in types and set(types) <= {"CommonStockSplit",
                                                          "SeriesDesignated"}
    assert holdings(db) == {}
    plan = read_package(SAMPLES, skip_without_terms=True)
    got: dict[tuple[str | None, str | None], D] = {}
    for s in plan.skipped:
        for c, h, q in s.effects:
            got[(c, h)] = got.get((c, h), D(0)) + q
    # every stock issuance names the class 'stock-class-id' the samples lack:
    # issued 1000 + 1000 + 1000 (test-security-id three times) + 4800; out: two
    # cancellations of 37, conversions of 1 and 10, two repurchases of 33, two transfers
    # of 10, four reissuances and two retractions of the whole 1000-share security
    assert got == {("stock-class-id", "stakeholder-id"):
                   D(1000 + 1000 + 1000 + 4800) - 37 - 37 - 1 - 10 - 33 - 33 - 10 - 10
                   - 4 * 1000 - 2 * 1000}
    ids = {n["object_id"] for n in out["not_imported"]}
    assert {"test-stock-issuance-minimal", "test-stock-transfer-minimal",
            "test-warrant-issuance-minimal"} <= ids
    one = [w for w in out["warnings"] if "'stock-class-id'" in w["message"]]
    assert len(one) == 1


# -- one message per real problem ---------------------------------------------------------

def test_a_class_without_terms_is_one_problem_and_its_objects_follow(tmp_path: Path) -> None:
    pkg = write_package(tmp_path / "pkg", "1.0.0", CLASSES, HOLDERS, TXS)
    db = tmp_path / "l.db"
    r = run(db, "import-ocf", str(pkg), *terms_file(tmp_path, "B"), "--json")
    assert r.exit_code == 2
    out = json.loads(r.stdout)
    # one problem: class A has no terms; nothing else is reported as a problem
    assert [p["object_id"] for p in out["problems"]] == ["A"]
    follow = {n["object_id"]: n for n in out["not_imported"] if "because" in n}
    # the three issuances in A, the repurchase and the conversion of A securities
    assert sorted(follow) == ["i-bob-a", "i-bob-a2", "i-cy-a", "r-1", "v-1"]
    assert all(n["because"].startswith("stock class 'A': ") for n in follow.values())
    assert {k for k, n in follow.items() if n["reason"] == "its stock class is not "
            "imported"} == {"i-bob-a", "i-bob-a2", "i-cy-a"}
    assert follow["r-1"]["reason"] == "its security_id 'sec-bob-a' is not imported"
    assert not db.exists()
    text = run(db, "import-ocf", str(pkg), *terms_file(tmp_path, "B"))
    assert "rejected: 1 problem(s); nothing was stored" in text.stderr
    assert "not imported: " in text.stderr


# -- a ratio adjustment the ledger does not derive ------------------------------------------

def test_a_foreign_ratio_adjustment_is_recorded(tmp_path: Path) -> None:
    right = {"type": "STOCK_CLASS_CONVERSION_RIGHT", "converts_to_future_round": False,
             "converts_to_stock_class_id": "CS",
             "conversion_mechanism": {"type": "RATIO_CONVERSION", "rounding_type": "NORMAL",
                                      "conversion_price": {"amount": "100", "currency": "USD"},
                                      "ratio": {"numerator": "1", "denominator": "1"}}}
    classes = [CLASSES[0], stock_class("A", "PREFERRED", "1000", conversion_rights=[right])]
    txs = [issue("i-1", "s1", "A", "s-ann", "10"),
           {"object_type": "TX_STOCK_CLASS_CONVERSION_RATIO_ADJUSTMENT", "id": "adj",
            "date": "2022-01-01", "stock_class_id": "A",
            "new_ratio_conversion_mechanism": dict(right["conversion_mechanism"], ratio={
                "numerator": "5", "denominator": "4"})}]
    pkg = write_package(tmp_path / "pkg", "1.2.0", classes, HOLDERS, txs)
    t = tmp_path / "A.json"
    t.write_text(json.dumps({"series": "A", "designated": "2019-06-01",
                             "authorized_shares": "1000", "stated_value": "100",
                             "conversion": "elective", "conversion_rate": "1"}))
    db = tmp_path / "l.db"
    r = run(db, "import-ocf", str(pkg), "--terms", str(t), "--json")
    assert r.exit_code == 0, r.output
    assert any(w["object_id"] == "adj" and "recorded as given" in w["message"]
               for w in json.loads(r.stdout)["warnings"])
    before = json.loads(run(db, "position", "--as-of", "2021-12-31", "--json").stdout)
    after = json.loads(run(db, "position", "--as-of", "2022-01-01", "--json").stdout)
    rate = {p: next(s["conversion_rate"] for s in x["series"] if s["series"] == "A")
            for p, x in (("before", before), ("after", after))}
    assert D(rate["before"]) == 1 and D(rate["after"]) == D(5) / 4


# -- fields and objects of other versions ------------------------------------------------------

def test_an_unknown_field_with_money_is_reported_for_each_object(tmp_path: Path) -> None:
    txs = [dict(issue("i-1", "s1", "CS", "s-ann", "100"),
                tool_fee={"amount": "25.00", "currency": "USD"}),
           dict(issue("i-2", "s2", "CS", "s-bob", "50"),
                tool_fee={"amount": "12.50", "currency": "USD"})]
    pkg = write_package(tmp_path / "pkg", "1.2.0", CLASSES[:1], HOLDERS, txs)
    r = run(tmp_path / "l.db", "import-ocf", str(pkg), "--json")
    assert r.exit_code == 0, r.output
    ws = [w for w in json.loads(r.stdout)["warnings"] if w["field"] == "tool_fee"]
    assert len([w for w in ws if "is not in OCF 1.2.0" in w["message"]]) == 1  # once
    money = sorted((w["object_id"], w["message"]) for w in ws if "carries" in w["message"])
    assert [m[0] for m in money] == ["i-1", "i-2"]
    assert "25.00" in money[0][1] and "12.50" in money[1][1]


# -- the package's own totals --------------------------------------------------------------

def test_imported_and_not_imported_add_up_to_the_package(tmp_path: Path) -> None:
    """The benchmark's check on the official samples and on the 1.0.0 cap table: the
    ledger's shares plus the not-imported list equal the package's own count."""
    from benchmarks.ocf_samples import run_one

    r = run_one(SAMPLES, skip=True)
    assert r["equal"] == "yes"
    assert r["own"] == {str(("stock-class-id", "stakeholder-id")): "1629"}  # as counted above


# -- hostile packages: exit 2, a clear message, the ledger unchanged ---------------------------

def _hostile_manifest(pkg: Path, filepath: str) -> None:
    m = json.loads((pkg / "Manifest.ocf.json").read_text())
    m["transactions_files"][0]["filepath"] = filepath
    (pkg / "Manifest.ocf.json").write_text(json.dumps(m))


def _zip_of(pkg: Path, out: Path, extra: dict[str, bytes] | None = None,
            rename: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(pkg.iterdir()):
            z.write(p, (rename or {}).get(p.name, p.name))
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return out


def _traversal(pkg: Path, tmp: Path) -> Path:
    _hostile_manifest(pkg, "/".join(["..", "..", "Transactions.ocf.json"]))
    return pkg


def _absolute(pkg: Path, tmp: Path) -> Path:
    _hostile_manifest(pkg, str(tmp / "elsewhere.json"))
    return pkg


def _symlink_out(pkg: Path, tmp: Path) -> Path:
    outside = tmp / "outside.json"
    outside.write_text("{}")
    (pkg / "Transactions.ocf.json").unlink()
    (pkg / "Transactions.ocf.json").symlink_to(outside)
    return pkg


def _huge(pkg: Path, tmp: Path) -> Path:
    with open(pkg / "Transactions.ocf.json", "r+b") as f:
        f.truncate(65 << 20)  # sparse: over the 64 MiB limit, never read
    return pkg


def _zip_traversal(pkg: Path, tmp: Path) -> Path:
    return _zip_of(pkg, tmp / "t.ocf.zip", extra={"/".join(["..", "evil.json"]): b"{}"})


def _zip_bomb(pkg: Path, tmp: Path) -> Path:
    return _zip_of(pkg, tmp / "b.ocf.zip", extra={"bomb.json": b"0" * (65 << 20)})


def _deep(pkg: Path, tmp: Path) -> Path:
    (pkg / "Transactions.ocf.json").write_text(
        '{"file_type": "OCF_TRANSACTIONS_FILE", "items": ' + "[" * 5000 + "]" * 5000 + "}")
    return pkg


HOSTILE = {"traversal": (_traversal, "goes up with '..'"),
           "absolute": (_absolute, "is an absolute path"),
           "symlink out": (_symlink_out, "resolves outside the package"),
           "huge file": (_huge, "more than the 64 MiB limit"),
           "zip traversal": (_zip_traversal, "goes up with '..'"),
           "zip bomb": (_zip_bomb, "more than the 64 MiB limit"),
           "deep nesting": (_deep, "nested more than 64 levels")}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_packages_are_refused(tmp_path: Path, case: str) -> None:
    make, words = HOSTILE[case]
    db = tmp_path / "l.db"
    seed = write_package(tmp_path / "seed", "1.2.0", CLASSES[:1], HOLDERS,
                         [issue("i-1", "s1", "CS", "s-ann", "7")])
    assert run(db, "import-ocf", str(seed)).exit_code == 0
    before = holdings(db), db.stat().st_size
    pkg = write_package(tmp_path / "pkg", "1.2.0", CLASSES[:1], HOLDERS,
                        [issue("i-9", "s9", "CS", "s-bob", "5")])
    target = make(pkg, tmp_path)
    r = run(db, "import-ocf", str(target))
    assert r.exit_code == 2, r.output
    assert words in " ".join(r.stderr.split()) and "nothing was stored" in r.stderr
    assert "Traceback" not in r.output
    assert (holdings(db), db.stat().st_size) == before
    fresh = tmp_path / "fresh.db"
    assert run(fresh, "import-ocf", str(target)).exit_code == 2
    assert not fresh.exists()


def test_classes_without_terms_can_be_listed_instead(tmp_path: Path) -> None:
    """--skip-classes-without-terms: class A (no terms) and its objects are listed as
    not imported, the rest is stored."""
    pkg = write_package(tmp_path / "pkg", "1.0.0", CLASSES, HOLDERS, TXS)
    db = tmp_path / "l.db"
    r = run(db, "import-ocf", str(pkg), *terms_file(tmp_path, "B"),
            "--skip-classes-without-terms", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    listed = {n["object_id"]: n for n in out["not_imported"]}
    assert "terms" in listed["A"]["reason"]
    for oid in ("i-bob-a", "i-cy-a", "i-bob-a2", "r-1", "v-1"):
        assert listed[oid]["because"].startswith("stock class 'A': "), oid
    # common as before; Cy's 100 B came from converting A, so it is listed too
    assert holdings(db) == {("common", "Ann Lee"): D(9000) - 2500 - 500,
                            ("common", "Bob Roe"): D(2500)}


@pytest.mark.parametrize("common", ["100", "90"])
def test_a_conversion_into_common_must_match_the_series_rate(tmp_path: Path,
                                                             common: str) -> None:
    """10 shares of A at 10 common per share: the resulting security must hold 100."""
    right = {"type": "STOCK_CLASS_CONVERSION_RIGHT", "converts_to_future_round": False,
             "converts_to_stock_class_id": "CS",
             "conversion_mechanism": {"type": "RATIO_CONVERSION", "rounding_type": "NORMAL",
                                      "conversion_price": {"amount": "10", "currency": "USD"},
                                      "ratio": {"numerator": "10", "denominator": "1"}}}
    classes = [CLASSES[0], stock_class("A", "PREFERRED", "1000", conversion_rights=[right])]
    txs = [issue("i-1", "s1", "A", "s-ann", "10"),
           {"object_type": "TX_STOCK_CONVERSION", "id": "v", "security_id": "s1",
            "date": "2022-01-01", "quantity_converted": "10", "resulting_security_ids": ["c1"]},
           issue("i-2", "c1", "CS", "s-ann", common, "2022-01-01")]
    pkg = write_package(tmp_path / "pkg", "1.2.0", classes, HOLDERS, txs)
    t = tmp_path / "A.json"
    t.write_text(json.dumps({"series": "A", "designated": "2019-06-01",
                             "authorized_shares": "1000", "stated_value": "100",
                             "conversion": "elective", "conversion_rate": "10"}))
    db = tmp_path / "l.db"
    r = run(db, "import-ocf", str(pkg), "--terms", str(t), "--json")
    if common == "100":
        assert r.exit_code == 0, r.output
        assert holdings(db) == {("common", "Ann Lee"): D(10) * 10}
    else:
        assert r.exit_code == 2
        (p,) = json.loads(r.stdout)["problems"]
        assert (p["object_id"], p["field"]) == ("v", "resulting_security_ids")
        assert "hold 90" in p["message"] and "into 100 common" in p["message"]
