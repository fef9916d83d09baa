"""The same history for the plain-text accounting tools a user might pick instead.

    python -m benchmarks.peers history.jsonl --journal h.journal --beancount h.beancount

Converts a history in the interchange format (JSON Lines) into

- a **journal** read by both hledger and ledger-cli (one file, the syntax they share), and
- a **Beancount** file,

with one transaction per event, in the order prefledger applies them (effective date,
then recorded order: SPEC.md §1), so a peer tool's balances equal prefledger's.

Accounts and commodities (the same names in every file):

- ``Equity:<Issuer>:Holders:<Holder>``: the shares a holder holds, one commodity per
  series (``G``, ``H``, …, upper case);
- ``Equity:<Issuer>:Common``: the issuer's common stock, one total as prefledger keeps
  it (commodity ``COMMON``);
- ``Equity:<Issuer>:Outstanding``: the other side of every share movement, so its balance
  in a commodity is minus the shares outstanding (an equity account's credit balance);
- money, in ``USD``: ``Assets:<Issuer>:Cash`` against ``Equity:<Issuer>:Paid-In`` (the
  price of an issuance), ``Equity:<Issuer>:Dividends-Paid`` (a ``DividendPaid`` amount),
  ``Equity:<Issuer>:Redemptions`` (a redemption's aggregate price) and
  ``Equity:<Issuer>:Cash-In-Lieu`` (the fraction of a conversion paid in cash).

Every ``BalanceAsserted`` becomes a balance assertion of the same figure: on the
holder's account (``= N G``), or, for a series (or common) total, on ``Outstanding`` as
the credit balance ``-N`` (ledger-cli asserts an account's own balance, never its
subaccounts', so a total is asserted where every movement of the series passes). In
Beancount a ``balance`` directive holds at the start of its date, so the assertion is
dated the event's day when no earlier event of that day moves the balance, else the day
after (the end of the event's day); one that events both earlier and later in its day
move cannot be said in Beancount and is written as a comment instead (counted as
``beancount_in_day_assertions``).

What the ledger computes is taken from prefledger's own pure replay (``ledger.replay``,
subscribed to with its ``ReplayHooks``), event by event: the common shares of a
conversion (``IssuerState.conversions``), the holders and shares of an automatic
conversion on a shareholder approval, the shares a redemption with short funds actually
redeems (``IssuerState.redemptions``), a split's change of the common outstanding, the
shares a dividend paid in kind issues to each holder (``IssuerState.payments``), and the
holdings a liquidation extinguishes (the lots just before it); a public offering's own
common is posted from the event, the conversions it triggers from the replay. Left out: dividend
accrual, arrears, rates, votes and the liquidation waterfall's payouts (a peer tool has
nothing that computes them; the events that carry no share or money movement become
transactions without postings).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TextIO

from ledger import Record, parse_line
from ledger.events import (
    BalanceAsserted,
    CommonStockIssued,
    CommonStockSplit,
    DividendPaid,
    Event,
    Liquidation,
    PublicOffering,
    SharesIssued,
    SharesTransferred,
)
from ledger.replay import Replayer, ReplayHooks, replay
from ledger.state import Conversion, Payment, Redemption
from ledger.values import CENT, ZERO, plain

USD = "USD"
COMMON = "COMMON"
ONE_DAY = dt.timedelta(days=1)


# -- names legal in every tool ------------------------------------------------------------

def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _tag(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]


def account_part(name: str) -> str:
    """One account name component legal in hledger, ledger-cli and Beancount: ASCII
    letters, digits and hyphens, starting with a capital letter or a digit."""
    part = re.sub(r"[^A-Za-z0-9]+", "-", _ascii(name)).strip("-")
    if not part:
        return "X-" + _tag(name)
    return part[0].upper() + part[1:]


def commodity_name(series: str) -> str:
    """A commodity legal in all three tools (Beancount's rule is the strictest: capitals,
    digits and ``'._-``, starting with a letter, ending with a letter or digit, at most
    24 characters)."""
    if series == "common":
        return COMMON
    c = re.sub(r"[^A-Z0-9._'-]+", "-", _ascii(series).upper()).strip("-._'")
    if not c:
        return "S-" + _tag(series).upper()
    if not c[0].isalpha():
        c = "S" + c
    if len(c) > 24:
        c = c[:15].rstrip("-._'") + "-" + _tag(series).upper()
    return c


class Names:
    """Distinct, legal names: two originals that sanitise alike get a hash suffix."""

    def __init__(self, taken: Iterable[str] = (), upper: bool = False) -> None:
        self.of: dict[str, str] = {}
        self.taken: set[str] = set(taken)
        self.upper = upper

    def get(self, original: str, clean: str) -> str:
        got = self.of.get(original)
        if got is not None:
            return got
        name = clean
        if name in self.taken:
            name = f"{clean}-{_tag(original)}"
            if self.upper:
                name = name.upper()
        self.taken.add(name)
        self.of[original] = name
        return name


@dataclass
class Posting:
    account: str
    amount: Decimal
    commodity: str


@dataclass
class Entry:
    """One event as a transaction, or (``check`` set) a balance assertion."""

    date: dt.date
    line: int
    kind: str
    event_id: str | None
    postings: list[Posting] = field(default_factory=list)
    #: a balance assertion: (account, figure, commodity)
    check: tuple[str, Decimal, str] | None = None
    #: an earlier event of the same day moves the asserted balance (Beancount: next day)
    moved_before: bool = False
    #: and a later one too: Beancount, which checks at the start of a date, cannot say it
    in_day: bool = False

    @property
    def beancount_date(self) -> dt.date:
        return self.date + ONE_DAY if self.moved_before else self.date


class IssuerNames:
    """The account and commodity names of one issuer."""

    def __init__(self, issuer: str, issuers: Names) -> None:
        self.root = "Equity:" + issuers.get(issuer, account_part(issuer))
        self.assets = "Assets:" + issuers.get(issuer, account_part(issuer))
        self.holders = Names()
        self.series = Names(taken=(COMMON, USD), upper=True)
        self.outstanding = self.root + ":Outstanding"
        self.common = self.root + ":Common"
        self.cash = self.assets + ":Cash"

    def holder(self, name: str) -> str:
        return f"{self.root}:Holders:{self.holders.get(name, account_part(name))}"

    def commodity(self, series: str) -> str:
        if series == "common":
            return COMMON
        return self.series.get(series, commodity_name(series))

    def money(self, what: str) -> str:
        return f"{self.root}:{what}"


# -- the effects, from prefledger's own replay --------------------------------------------

def _move(n: IssuerNames, account: str, shares: Decimal, commodity: str) -> list[Posting]:
    """``shares`` into ``account`` (out of it when negative), against Outstanding."""
    return [Posting(account, shares, commodity), Posting(n.outstanding, -shares, commodity)]


def _cash(n: IssuerNames, what: str, amount: Decimal) -> list[Posting]:
    """Money paid out by the issuer (received when ``amount`` is negative)."""
    if not amount:
        return []
    return [Posting(n.money(what), amount, USD), Posting(n.cash, -amount, USD)]


class _Effects(ReplayHooks):
    """Subscribes to prefledger's replay: before each event, what it may change (the
    conversions and redemptions so far, the common outstanding, the holdings a
    liquidation will extinguish); after it, the event's entry."""

    def __init__(self, n: IssuerNames) -> None:
        self.n = n
        self.out: list[Entry] = []
        self.before: tuple[int, int, int, Decimal, list[tuple[str, str, Decimal]]] = (
            0, 0, 0, ZERO, [])
        self.rejected: list[Record] = []

    def event_applying(self, rp: Replayer, rec: Record) -> None:
        st = rp.state
        held: list[tuple[str, str, Decimal]] = []
        if isinstance(rec.event, Liquidation):
            held = [(h, name, shares) for name, s in st.series.items()
                    for h, shares in s.holdings().items() if shares]
        self.before = (len(st.conversions), len(st.redemptions), len(st.payments),
                       st.common_outstanding, held)

    def event_applied(self, rp: Replayer, rec: Record, accepted: bool) -> None:
        if not accepted:
            self.rejected.append(rec)
            return
        st, n, ev = rp.state, self.n, rec.event
        conversions, redemptions, payments, common, held = self.before
        entry = Entry(ev.effective_date, rec.line, ev.type, ev.id)
        entry.postings = _postings(n, ev, st.conversions[conversions:],
                                   st.redemptions[redemptions:],
                                   st.common_outstanding - common, held,
                                   st.payments[payments:])
        if isinstance(ev, BalanceAsserted):
            if ev.holder is not None:
                entry.check = (n.holder(ev.holder), ev.shares, n.commodity(ev.series))
            else:
                entry.check = (n.outstanding, -ev.shares, n.commodity(ev.series))
        self.out.append(entry)


def issuer_entries(issuer: str, records: list[Record], n: IssuerNames) -> list[Entry]:
    """The entries of one issuer: prefledger's own replay (``ledger.replay``: reversed
    targets left out, effective-date then recorded order) tells ``_Effects`` of every
    event as it applies. A history prefledger would reject is not converted."""
    effects = _Effects(n)
    _, problems = replay(issuer, records, hooks=[effects])
    if problems:
        raise ValueError(f"the history does not load in prefledger: {problems[0]}")
    _mark_in_day(effects.out)
    return effects.out


def _postings(n: IssuerNames, ev: Event, conversions: list[Conversion],
              redemptions: list[Redemption], common_delta: Decimal,
              held: list[tuple[str, str, Decimal]], payments: list[Payment]
              ) -> list[Posting]:
    """The postings of one event: its own shares and money, then whatever conversions
    and redemptions the replay made of it."""
    p: list[Posting] = []
    if isinstance(ev, SharesIssued):
        p += _move(n, n.holder(ev.holder), ev.shares, n.commodity(ev.series))
        if ev.price_per_share is not None:
            p += _cash(n, "Paid-In", -ev.shares * ev.price_per_share)
    elif isinstance(ev, SharesTransferred):
        c = n.commodity(ev.series)
        p += [Posting(n.holder(ev.from_holder), -ev.shares, c),
              Posting(n.holder(ev.to_holder), ev.shares, c)]
    elif isinstance(ev, DividendPaid):
        in_kind = [(h, shares) for pay in payments for h, shares in pay.in_kind]
        if in_kind:  # SPEC.md §12 paid in kind: each holder's whole shares, as the replay
            # issued them (no money moves)
            for h, shares in in_kind:
                p += _move(n, n.holder(h), shares, n.commodity(ev.series))
        else:
            p += _cash(n, "Dividends-Paid", ev.amount)
    elif isinstance(ev, CommonStockIssued):
        p += _move(n, n.common, ev.shares, COMMON)
        paid = ev.consideration
        if paid is None and ev.price_per_share is not None:
            paid = ev.shares * ev.price_per_share
        if paid is not None:
            p += _cash(n, "Paid-In", -paid)
    elif isinstance(ev, PublicOffering):
        # SPEC.md §12: the offering's common, sold at its price (the mandatory conversions
        # it triggers are among ``conversions`` below)
        p += _move(n, n.common, ev.shares, COMMON)
        p += _cash(n, "Paid-In", -ev.gross_proceeds)
    elif isinstance(ev, CommonStockSplit) and common_delta:
        # SPEC.md §6 Split: common outstanding × ratio, as the replay computed it
        p += _move(n, n.common, common_delta, COMMON)
    elif isinstance(ev, Liquidation):
        # SPEC.md §3 Liquidation: every share is extinguished, common included
        for h, series, shares in held:
            p += _move(n, n.holder(h), -shares, n.commodity(series))
        if common_delta:
            p += _move(n, n.common, common_delta, COMMON)
    # a holder's conversion, or every holder's on a shareholder approval (SPEC.md §6)
    for conv in conversions:
        p += _move(n, n.holder(conv.holder), -conv.shares, n.commodity(conv.series))
        if conv.common:
            p += _move(n, n.common, conv.common, COMMON)
        if conv.cash_in_lieu:
            p += _cash(n, "Cash-In-Lieu", conv.cash_in_lieu)
    # the shares a redemption actually redeems (short funds: fewer, maybe none; SPEC.md §7)
    for red in redemptions:
        p += _move(n, n.holder(red.holder), -red.shares, n.commodity(red.series))
        p += _cash(n, "Redemptions", red.paid)
    moved = sum((x.amount for x in p if x.account == n.common), ZERO)
    if moved != common_delta:  # pragma: no cover - every common movement is posted
        raise AssertionError(f"{ev.describe()}: the postings move {moved} common, the "
                             f"replay moved common outstanding by {common_delta}")
    return p


def _mark_in_day(entries: list[Entry]) -> None:
    """Where Beancount can check each assertion of one issuer's entries (a ``balance``
    directive holds at the start of its date): on the event's date when no earlier
    posting of that day moves the account and commodity, else the next day when no later
    one does, else nowhere (``in_day``)."""
    seen: set[tuple[str, str]] = set()
    day: dt.date | None = None
    for e in entries:  # earlier postings of the day
        if e.date != day:
            seen, day = set(), e.date
        if e.check is not None:
            e.moved_before = (e.check[0], e.check[2]) in seen
        for p in e.postings:
            seen.add((p.account, p.commodity))
    day = None
    for e in reversed(entries):  # later postings of the day
        if e.date != day:
            seen, day = set(), e.date
        if e.check is not None:
            e.in_day = e.moved_before and (e.check[0], e.check[2]) in seen
        for p in e.postings:
            seen.add((p.account, p.commodity))


def entries(lines: Iterable[str], names: dict[str, IssuerNames] | None = None
            ) -> list[Entry]:
    """Every event of a JSON Lines history as entries, in one date order for all issuers
    (each issuer's own order kept: recorded order within a day). ``names``, when given,
    receives each issuer's account and commodity names."""
    by_issuer: dict[str, list[Record]] = {}
    for k, text in enumerate(lines, start=1):
        ev = parse_line(text, k)
        if ev is None:
            continue
        if isinstance(ev, list):
            raise ValueError(f"line {k}: {ev[0]}")
        recs = by_issuer.setdefault(ev.issuer, [])
        recs.append(Record(ev, len(recs) + 1, k))
    issuers = Names()
    out: list[Entry] = []
    for issuer, recs in by_issuer.items():
        n = IssuerNames(issuer, issuers)
        if names is not None:
            names[issuer] = n
        out += issuer_entries(issuer, recs, n)
    out.sort(key=lambda e: (e.date, e.line))
    return out


# -- writing ------------------------------------------------------------------------------

_LETTERS = re.compile(r"[A-Za-z]+")


def _jcom(commodity: str) -> str:
    """hledger and ledger-cli read a commodity of letters bare, any other one quoted."""
    return commodity if _LETTERS.fullmatch(commodity) else f'"{commodity}"'


def _num(p: Posting) -> str:
    """Shares as plain decimals; money with its cents when it has no finer part."""
    x = p.amount
    if p.commodity == USD and x == x.quantize(CENT):
        return f"{x:.2f}"
    return plain(x)


def _q(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


@dataclass
class Written:
    events: int = 0
    postings: int = 0
    assertions: int = 0
    beancount_in_day_assertions: int = 0
    accounts: int = 0


def write_journal(items: list[Entry], fh: TextIO) -> Written:
    """The hledger / ledger-cli journal: assertions at their place in the day."""
    w = Written()
    fh.write("; converted from a prefledger history by benchmarks/peers.py\n")
    for e in items:
        w.events += 1
        desc = e.kind + (f"  ; id:{e.event_id}" if e.event_id is not None else "")
        fh.write(f"\n{e.date.isoformat()} * {desc}\n")
        for p in e.postings:
            fh.write(f"    {p.account}  {_num(p)} {_jcom(p.commodity)}\n")
            w.postings += 1
        if e.check is not None:
            acct, fig, com = e.check
            c = _jcom(com)
            fh.write(f"    {acct}  0 {c} = {plain(fig)} {c}\n")
            w.assertions += 1
    return w


def write_beancount(items: list[Entry], fh: TextIO) -> Written:
    """The Beancount file: accounts opened on first use, assertions at the day's end."""
    w = Written()
    fh.write('; converted from a prefledger history by benchmarks/peers.py\n'
             'option "title" "prefledger history"\n')
    opened: set[str] = set()

    def open_(account: str, on: dt.date) -> None:
        if account not in opened:
            opened.add(account)
            fh.write(f"{on.isoformat()} open {account}\n")

    for e in items:
        w.events += 1
        for p in e.postings:
            open_(p.account, e.date)
        if e.check is not None:
            open_(e.check[0], e.date)
        narration = e.kind + (f" {e.event_id}" if e.event_id is not None else "")
        fh.write(f'\n{e.date.isoformat()} * "{_q(narration)}"\n')
        for p in e.postings:
            fh.write(f"  {p.account}  {_num(p)} {p.commodity}\n")
            w.postings += 1
        if e.check is not None:
            acct, fig, com = e.check
            line = f"{e.beancount_date.isoformat()} balance {acct}  {plain(fig)} {com}\n"
            if e.in_day:  # moved earlier and later the same day: not expressible here
                fh.write("; in-day, checked by the journal only: " + line)
                w.beancount_in_day_assertions += 1
            else:
                fh.write(line)
                w.assertions += 1
    w.accounts = len(opened)
    return w


def convert(src: str | Path, journal: str | Path | None = None,
            beancount: str | Path | None = None) -> dict[str, int]:
    """Convert the history at ``src``; returns the counts written."""
    with Path(src).open(encoding="utf-8") as fh:
        items = entries(fh)
    out: dict[str, int] = {"events": len(items)}
    if journal is not None:
        with Path(journal).open("w", encoding="utf-8") as fh:
            w = write_journal(items, fh)
        out.update(journal_postings=w.postings, journal_assertions=w.assertions)
    if beancount is not None:
        with Path(beancount).open("w", encoding="utf-8") as fh:
            w = write_beancount(items, fh)
        out.update(beancount_postings=w.postings, beancount_assertions=w.assertions,
                   beancount_in_day_assertions=w.beancount_in_day_assertions,
                   beancount_accounts=w.accounts)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("history")
    ap.add_argument("--journal", help="hledger / ledger-cli journal to write")
    ap.add_argument("--beancount", help="Beancount file to write")
    a = ap.parse_args(argv)
    print(convert(a.history, a.journal, a.beancount))


if __name__ == "__main__":
    main()
