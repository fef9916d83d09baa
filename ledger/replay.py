"""Replay: the state of an issuer as of a date, rebuilt from its events (SPEC.md §1, §11).

Pure over its input: records in, state and problems out. Events apply in
``(effective_date, recorded order)``; on each day, amounts fall due and rates change at
the start of the day, then the day's events apply, then the end-of-day tests (missed,
step-up, reset) run (SPEC.md §11 Days and order). Problems are collected, not raised:
an event with a problem is reported and skipped, and replay goes on.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal

from ledger import (
    accrual,
    amendments,
    cancellation,
    conversion,
    dividends,
    limits,
    redemption,
    waterfall,
)
from ledger.events import (
    BalanceAsserted,
    CommonStockIssued,
    CommonStockSplit,
    DividendDeclared,
    DividendMissed,
    DividendPaid,
    EventReversed,
    Liquidation,
    PublicOffering,
    RedemptionNoticed,
    SeriesDesignated,
    ShareholderApproval,
    SharesCancelled,
    SharesConverted,
    SharesIssued,
    SharesRedeemed,
    SharesTransferred,
    TermsAmended,
)
from ledger.problems import Problem, Rejected
from ledger.schedule import ONE_DAY, Schedule
from ledger.state import Declaration, IssuerState, Record, SeriesState
from ledger.terms import SENIORITY_KEYWORDS, Terms, known_terms_refs, load_terms_ref
from ledger.values import CONTEXT, ONE, plain

TermsResolver = Callable[[str], Terms]

#: the ``series`` that names common stock (SPEC.md §3 BalanceAsserted, §13)
COMMON = "common"


#: the number field named when applying an event overflows (first one the event has)
_NUMBER_FIELDS = ("ratio", "shares", "amount", "proceeds", "price_per_share", "consideration",
                  "market_price", "funds_available")


def order(records: Iterable[Record]) -> list[Record]:
    """Effective date first, then recorded order (SPEC.md §1)."""
    return sorted(records, key=lambda r: (r.event.effective_date, r.seq))


def reversed_targets(records: Iterable[Record]) -> tuple[dict[str, Record], list[Problem]]:
    """Targets removed by ``EventReversed`` (SPEC.md §3), with problems for bad reversals."""
    by_id: dict[str, Record] = {}
    targets: dict[str, Record] = {}
    problems: list[Problem] = []
    for r in sorted(records, key=lambda r: r.seq):
        ev = r.event
        if isinstance(ev, EventReversed):
            target = by_id.get(ev.target_id)
            if target is None:
                problems.append(Problem(r.line, r.where(), "target_id",
                                        f"no earlier event has id {ev.target_id!r}"))
            elif isinstance(target.event, EventReversed):
                problems.append(Problem(r.line, r.where(), "target_id",
                                        "a reversal cannot itself be reversed"))
            elif ev.target_id in targets:
                problems.append(Problem(r.line, r.where(), "target_id",
                                        f"event {ev.target_id!r} is already reversed"))
            else:
                targets[ev.target_id] = r
        if ev.id is not None:
            by_id[ev.id] = r
    return targets, problems


class ReplayHooks:
    """What a subscriber to a replay is told, as the calendar runs (SPEC.md §11 Days and
    order). Every method does nothing here: a subscriber overrides the ones it needs.

    Each receives the ``Replayer`` (``rp.state`` is the state being built) and runs
    inside the replay, so it must only read the state, never change it. For every day
    the calendar runs (a day with events, a period boundary, a payment date or rate
    change of some series, the last day asked for), in this order:

    - ``day_started(rp, day, boundaries, payments)``: after the start of ``day`` (rate
      changes, period boundaries, amounts falling due); ``boundaries`` are the series
      whose period was cut on ``day``, ``payments`` those whose amounts fell due;
    - for each event of ``day`` in timeline order, ``event_applying(rp, rec)`` (its day
      has started, nothing of it applied yet) and ``event_applied(rp, rec, accepted)``
      (``accepted``: applied without a problem; a rejected event changed nothing a
      report reads);
    - ``day_ending(rp, day)``: every event of ``day`` applied, its end-of-day tests not
      run yet (the state a checkpoint keeps; see ``ledger.store.checkpoints``);
    - ``day_ended(rp, day)``: after the end-of-day tests (missed payment, step-up, reset).

    ``day_ending``/``day_ended`` of a day come only when the calendar moves past it (the
    next event's day, or the end of the replay), so ``rp.state.day`` is not the day
    told: use ``day``. A resumed replay (``replay(start=...)``) ends the start state's
    day first, without a ``day_started`` for it. Before all this, ``replay_started(rp,
    timeline)`` gives the records the replay will apply, in order (reversed targets and
    events after ``as_of`` left out): every one of them comes, accepted or not, as an
    ``event_applying``/``event_applied`` pair."""

    def replay_started(self, rp: Replayer, timeline: Sequence[Record]) -> None:
        """Before the first day (see the class docstring)."""

    def day_started(self, rp: Replayer, day: dt.date, boundaries: list[SeriesState],
                    payments: list[SeriesState]) -> None:
        """After the start of ``day`` (see the class docstring)."""

    def event_applying(self, rp: Replayer, rec: Record) -> None:
        """Before ``rec`` applies, its day started (see the class docstring)."""

    def event_applied(self, rp: Replayer, rec: Record, accepted: bool) -> None:
        """After ``rec`` applied or was rejected (see the class docstring)."""

    def day_ending(self, rp: Replayer, day: dt.date) -> None:
        """Before the end-of-day tests of ``day`` (see the class docstring)."""

    def day_ended(self, rp: Replayer, day: dt.date) -> None:
        """After the end-of-day tests of ``day`` (see the class docstring)."""


class Replayer:
    """Applies records in timeline order to an ``IssuerState``, telling ``hooks`` as the
    calendar runs (``ReplayHooks``)."""

    def __init__(self, issuer: str, resolve: TermsResolver = load_terms_ref,
                 hooks: Sequence[ReplayHooks] = ()) -> None:
        self.state = IssuerState(issuer)
        self.resolve = resolve
        self.hooks = tuple(hooks)
        self.problems: list[Problem] = []
        #: every designation in the log, to explain an event dated before its series
        self.designations: dict[str, dt.date] = {}
        #: whether the event applying is input (a line of a load) rather than stored
        #: history: rules added later check input only, so stored history replays as it
        #: was stored (SPEC.md §12 Validation: designation date, seniority references)
        self.checking_input = True
        #: per series, the record its terms in force come from (the designation or the
        #: latest amendment): what the horizon's limits name (``_horizon_problems``)
        self.terms_records: dict[str, Record] = {}

    # -- the calendar ---------------------------------------------------------------
    def _next_point(self, s: SeriesState) -> dt.date | None:
        """The next day ``s`` needs a start of day; none once it no longer accrues
        (an extinguished series would otherwise stall the calendar forever)."""
        trigger = conversion.next_trigger_date(s)  # SPEC.md §12 {"date": D}
        if s.extinguished:
            return trigger
        pts: list[dt.date] = [trigger] if trigger is not None else []
        if s.rate is not None:
            pts += [p for p in (s.next_boundary, s.next_payment) if p is not None]
            if s.pending_rate is not None:
                pts.append(s.pending_rate[0])
        if s.declarations:  # SPEC.md §12: record dates (their end), payment dates
            day = self.state.day
            pts += [p for p in dividends.declared_points(s) if day is None or p > day]
        return min(pts) if pts else None

    def advance(self, to: dt.date) -> None:
        """Run every day from the current one up to the start of ``to``."""
        st = self.state
        if st.day is not None and to <= st.day:
            return
        if st.day is not None:
            self.end_of_day(st.day)
        while True:
            pts = [p for s in st.series.values() if (p := self._next_point(s)) is not None]
            nxt = min(pts) if pts else None
            if nxt is None or nxt >= to:
                break
            self.start_of_day(nxt)
            self.end_of_day(nxt)
        self.start_of_day(to)
        st.day = to

    def start_of_day(self, t: dt.date) -> None:
        """Rate changes, period boundaries, then amounts falling due (SPEC.md §11)."""
        boundaries: list[SeriesState] = []
        payments: list[SeriesState] = []
        for s in self.state.series.values():
            if s.extinguished:
                continue
            if s.declarations and dividends.declared_fall_due(s, t):  # SPEC.md §12
                payments.append(s)
            if s.rate is None:
                continue
            if s.pending_rate is not None and s.pending_rate[0] == t:
                dividends.change_rate(s, t, s.pending_rate[1], s.pending_rate[2])
                s.pending_rate = None
            if s.next_boundary == t:
                new_due = s.schedule.due_date(t)
                for lot in s.lots:
                    accrual.cut(lot, t, s.rate, new_due, s.terms.day_count)
                if s.compound:  # SPEC.md §12 compounding: the arrears' pieces too
                    dividends.cut_compound(s, t, new_due)
                s.next_boundary = s.schedule.next_boundary(t)
                boundaries.append(s)
            if s.next_payment == t:
                dividends.fall_due(s, t)
                s.next_payment = s.schedule.next_payment(t)
                payments.append(s)
        conversion.date_triggers(self.state, t)  # SPEC.md §12: after amounts fall due
        for h in self.hooks:
            h.day_started(self, t, boundaries, payments)

    def end_of_day(self, t: dt.date) -> None:
        """Missed-payment test, step-up and reset (SPEC.md §5 Missed, Step-up)."""
        for h in self.hooks:
            h.day_ending(self, t)
        for s in self.state.series.values():
            if s.extinguished:
                continue
            if s.declarations:  # SPEC.md §12: holders of record at the end of the day
                dividends.record_holders(s, t)
            if s.rate is not None:
                dividends.end_of_day(s, t)
                # SPEC.md §12 compounding: what is unpaid at the end of its payment date
                # accrues from the next day
                dividends.compound(s, t + ONE_DAY)
        for h in self.hooks:
            h.day_ended(self, t)

    # -- events ----------------------------------------------------------------------
    def apply(self, rec: Record) -> None:
        """Run the calendar to ``rec``'s day, then apply it (or report its problem)."""
        ev = rec.event
        st = self.state
        handler = _HANDLERS.get(type(ev))
        self.checking_input = rec.line > 0
        accepted = False
        try:
            self.advance(ev.effective_date)
            for h in self.hooks:
                h.event_applying(self, rec)
            if st.liquidated_on is not None and not isinstance(ev, EventReversed):
                raise Rejected("effective_date", f"the issuer was liquidated on "
                               f"{st.liquidated_on}; no event may follow a Liquidation")
            if handler is not None:
                _before_limits(self, ev)
                handler(self, ev)
                _after_limits(self, ev)
                for s in st.series.values():  # SPEC.md §12: arrears changed today
                    if s.compound_base or s.terms.compounding != "none":
                        dividends.compound(s, ev.effective_date)
            accepted = True
        except Rejected as rej:
            self.problems.append(rej.at(rec.line, rec.where()))
        except (ArithmeticError, ValueError) as exc:
            # never crash on input (README Guarantees): a figure beyond Decimal's 40 digits
            # (e.g. splits compounding past it) rejects the event, naming its number field
            field = next((f for f in _NUMBER_FIELDS if getattr(ev, f, None) is not None),
                         "effective_date")
            self.problems.append(Problem(rec.line, rec.where(), field,
                                         "cannot be applied: a figure it produces is out of "
                                         f"range ({type(exc).__name__})"))
        if accepted:
            st.applied.append(rec)
            if isinstance(ev, SeriesDesignated | TermsAmended):
                self.terms_records[ev.series] = rec
        for h in self.hooks:
            h.event_applied(self, rec, accepted)

    def finish(self, as_of: dt.date) -> IssuerState:
        """Bring the state to the end of day ``as_of`` (SPEC.md §1: as of = end of day)."""
        self.advance(as_of)
        self.end_of_day(as_of)
        return self.state

    # -- helpers ---------------------------------------------------------------------
    def series(self, name: str, field: str = "series") -> SeriesState:
        s = self.state.series.get(name)
        if s is None:
            later = self.designations.get(name)
            if later is not None:
                raise Rejected(field, f"Series {name} is designated on {later}, after this "
                               "event")
            raise Rejected(field, f"unknown series {name!r}"
                           + (f"; designated: {', '.join(sorted(self.state.series))}"
                              if self.state.series else "; no series designated yet"))
        if s.extinguished:
            raise Rejected(field, f"series {name!r} has been extinguished")
        return s

    def common_of(self, holder: str, field: str, shares: Decimal) -> Decimal:
        """``holder``'s common, checked to be at least ``shares`` (SPEC.md §13)."""
        if holder not in self.state.holders:
            raise Rejected(field, f"unknown holder {holder!r}")
        held = self.state.common_held(holder)
        if shares > held:
            raise Rejected("shares", f"{holder!r} holds {plain(held)} common shares on this "
                           f"date, fewer than {plain(shares)}")
        return held

    def holder_of(self, s: SeriesState, holder: str, field: str, shares: Decimal) -> Decimal:
        if holder not in self.state.holders:
            raise Rejected(field, f"unknown holder {holder!r}")
        held = s.held(holder)
        if shares > held:
            raise Rejected("shares", f"{holder!r} holds {plain(held)} shares of Series "
                           f"{s.name} on this date, fewer than {plain(shares)}")
        return held


# -- handlers -----------------------------------------------------------------------

def _designate(r: Replayer, ev: SeriesDesignated) -> None:
    """SPEC.md §3 SeriesDesignated: terms inline or a shipped ``terms_ref``."""
    if ev.series in r.state.series or ev.series == COMMON:
        raise Rejected("series", f"series {ev.series!r} is already designated")
    if ev.terms is not None:
        terms = ev.terms
    else:
        assert ev.terms_ref is not None
        try:
            terms = r.resolve(ev.terms_ref)
        except KeyError:
            raise Rejected("terms_ref", f"no shipped terms named {ev.terms_ref!r}") from None
        if terms.series != ev.series:
            raise Rejected("terms_ref", f"terms {ev.terms_ref!r} are for series "
                           f"{terms.series!r}, not {ev.series!r}")
    if r.checking_input and terms.designated != ev.effective_date:  # §12 Validation
        raise Rejected("terms.designated" if ev.terms is not None else "terms_ref",
                       f"the terms say Series {terms.series} is designated on "
                       f"{terms.designated}, but this SeriesDesignated is dated "
                       f"{ev.effective_date}; they must be the same day")
    if r.checking_input:
        _check_claims(r, terms, "terms.seniority_claims", ev.terms_ref)
    s = SeriesState(terms=terms, schedule=Schedule(terms), designated_seq=len(r.state.series))
    if terms.accrues:  # SPEC.md §12: a non-cumulative series accrues nothing
        s.rate = terms.dividend_rate
        assert s.rate is not None
        s.rate_history.append(dividends.RateChange(ev.effective_date, s.rate, "designation"))
        s.next_boundary = s.schedule.next_boundary(ev.effective_date)
        s.next_payment = s.schedule.next_payment(ev.effective_date)
    s.conversion_rate = terms.base_conversion_rate
    s.conversion_price = terms.base_conversion_price  # SPEC.md §12 CP
    s.threshold = terms.antidilution_threshold
    s.closing_date = terms.closing_date
    r.state.series[ev.series] = s


def _check_claims(r: Replayer, terms: Terms, field: str, ref: str | None = None) -> None:
    """SPEC.md §12 Validation: a seniority claim names a keyword or a series designated in
    the issuer's log (any effective date, before or after this one; reversed designations
    do not count), never the series itself. Checked where the terms take effect (the
    designation, an amendment); a load that reverses the only designation of a named
    series therefore fails too, since the timeline from then on must still validate.
    Shipped terms (``terms_ref``) may also name the series shipped beside them (``nstor/K``
    names H): a certificate family is checked as a whole when it ships."""
    siblings = _shipped_beside(ref.split("/")[0]) if ref is not None and "/" in ref else ()
    for i, c in enumerate(terms.seniority_claims):
        if c.to in SENIORITY_KEYWORDS or (c.to in siblings and c.to != terms.series):
            continue
        if c.to == terms.series:
            raise Rejected(f"{field}.{i}.to", f"Series {terms.series} cannot rank against "
                           "itself")
        if c.to not in r.designations and c.to not in r.state.series:
            raise Rejected(f"{field}.{i}.to", f"{c.to!r} is neither one of "
                           f"{', '.join(sorted(SENIORITY_KEYWORDS))} nor a series designated "
                           f"in issuer {r.state.issuer!r}'s log")


@functools.lru_cache(maxsize=32)
def _shipped_beside(family: str) -> frozenset[str]:
    """The series names of the terms shipped as ``family/NAME``."""
    return frozenset(k[len(family) + 1:] for k in known_terms_refs()
                     if k.startswith(family + "/"))


def _issue(r: Replayer, ev: SharesIssued) -> None:
    """SPEC.md §3 SharesIssued: a new lot, within the authorized shares."""
    s = r.series(ev.series)
    if ev.effective_date < s.terms.designated:
        raise Rejected("effective_date", f"Series {s.name} is designated on "
                       f"{s.terms.designated}, after this issuance")
    after = s.issued_total + ev.shares
    if after > s.terms.authorized_shares:
        raise Rejected("shares", f"issuing {plain(ev.shares)} would bring Series {s.name} to "
                       f"{plain(after)} shares issued, more than the "
                       f"{plain(s.terms.authorized_shares)} authorized (redeemed and converted "
                       "shares are never reissued)")
    s.issued_total = after
    if s.closing_date is None and s.terms.conversion_after_closing_years is not None:
        s.closing_date = ev.effective_date  # SPEC.md §4 Reading: first M issuance
    open_due = s.schedule.due_date(ev.effective_date) if s.rate is not None else None
    # SPEC.md §12 ``convertible_issuances``: a priced issuance of a convertible series
    # adjusts the others (computed from the figures just before; its own rate is the
    # same just after, so C = shares × rate)
    conversion.issue_convertible(r.state, s, ev)
    s.lots.append(accrual.Lot(ev.holder, ev.shares, ev.effective_date, len(s.lots),
                              ev.effective_date, open_due))
    r.state.holders.add(ev.holder)


def _transfer(r: Replayer, ev: SharesTransferred) -> None:
    """SPEC.md §3: oldest lots first; §11: accrual not yet due moves, amounts due stay.
    §13: ``series: "common"`` moves common between named holders."""
    if ev.series == COMMON:
        r.common_of(ev.from_holder, "from_holder", ev.shares)
        if ev.from_holder == ev.to_holder:
            raise Rejected("to_holder", "a transfer needs two different holders")
        r.state.take_common(ev.from_holder, ev.shares)
        r.state.add_common(ev.to_holder, ev.shares)
        return
    s = r.series(ev.series)
    r.holder_of(s, ev.from_holder, "from_holder", ev.shares)
    if ev.from_holder == ev.to_holder:
        raise Rejected("to_holder", "a transfer needs two different holders")
    s.lots.move(ev.from_holder, ev.shares, ev.to_holder)
    r.state.holders.add(ev.to_holder)


#: SPEC.md §12 dividend_form: the ``DividendPaid`` forms each value allows
_FORMS = {"cash": ("cash",), "cash_or_shares": ("cash", "shares"), "shares": ("shares",)}


def _paid(r: Replayer, ev: DividendPaid) -> None:
    """SPEC.md §3 DividendPaid, §11 Payments (see ``dividends.pay``); §12 ``form``."""
    s = r.series(ev.series)
    if s.rate is None and s.terms.cumulative:
        raise Rejected("series", f"Series {s.name} pays no dividends")
    form = ev.form or "cash"
    if form not in _FORMS[s.terms.dividend_form]:
        raise Rejected("form", f"Series {s.name} dividends are paid in "
                       f"{' or '.join(_FORMS[s.terms.dividend_form])} (dividend_form "
                       f"{s.terms.dividend_form!r}), not in {form}")
    if ev.holder is not None and ev.holder not in r.state.holders:
        raise Rejected("holder", f"unknown holder {ev.holder!r}")
    dividends.pay(r.state, s, ev)


def _missed(r: Replayer, ev: DividendMissed) -> None:
    """SPEC.md §3 DividendMissed: the board's record of a missed payment date."""
    s = r.series(ev.series)
    if not s.terms.cumulative:
        raise Rejected("series", f"Series {s.name} is non-cumulative: nothing falls due by "
                       "itself, so no payment date can be missed (unpaid declared dividends "
                       "show as arrears)")
    if s.rate is None:
        raise Rejected("series", f"Series {s.name} pays no dividends")
    if ev.payment_date > ev.effective_date:
        raise Rejected("payment_date", "cannot record a miss before the payment date")
    first = s.schedule.next_payment(s.terms.designated)
    if ev.payment_date < first:
        raise Rejected("payment_date", f"{ev.payment_date} is before the first Series "
                       f"{s.name} payment date, {first}")
    expected = s.schedule.next_payment(ev.payment_date - ONE_DAY)
    if expected != ev.payment_date:
        raise Rejected("payment_date", f"{ev.payment_date} is not a Series {s.name} payment "
                       f"date (the next one is {expected})")
    s.recorded_misses.add(ev.payment_date)


def _common(r: Replayer, ev: CommonStockIssued) -> None:
    """SPEC.md §3 CommonStockIssued; §6 anti-dilution."""
    conversion.issue_common(r.state, ev)


def _split(r: Replayer, ev: CommonStockSplit) -> None:
    conversion.split(r.state, ev)


def _convert(r: Replayer, ev: SharesConverted) -> None:
    s = r.series(ev.series)
    held = r.holder_of(s, ev.holder, "holder", ev.shares)
    conversion.convert(r.state, s, ev, held)


def _approve(r: Replayer, ev: ShareholderApproval) -> None:
    r.state.approvals.append((ev.effective_date, tuple(ev.matters)))
    conversion.automatic(r.state, ev)


def _offering(r: Replayer, ev: PublicOffering) -> None:
    """SPEC.md §12 ``PublicOffering``: triggered mandatory conversions, then the sale."""
    conversion.offering(r.state, ev)


def _notice(r: Replayer, ev: RedemptionNoticed) -> None:
    s = r.series(ev.series)
    for holder, shares in ev.holders.items():
        if holder not in r.state.holders:
            raise Rejected(f"holders.{holder}", f"unknown holder {holder!r}")
        held = s.held(holder)
        if shares > held:
            raise Rejected(f"holders.{holder}", f"{holder!r} holds {plain(held)} shares of "
                           f"Series {s.name}, fewer than {plain(shares)}")
    redemption.notice(s, ev)


def _redeem(r: Replayer, ev: SharesRedeemed) -> None:
    s = r.series(ev.series)
    r.holder_of(s, ev.holder, "holder", ev.shares)
    redemption.redeem(r.state, s, ev)


def _liquidate(r: Replayer, ev: Liquidation) -> None:
    """SPEC.md §3 Liquidation: distribute by the waterfall, then extinguish everything."""
    r.state.liquidation = waterfall.distribute(r.state, ev.effective_date, ev.proceeds,
                                               ev.order)
    r.state.liquidated_on = ev.effective_date
    for s in r.state.series.values():
        s.extinguished = True
        s.lots.clear()
        s.notices.clear()
        s.dues.clear()  # the claims were settled by the distribution
        s.compound.clear()
        s.compound_base.clear()
        s.declarations.clear()
    r.state.clear_common()  # SPEC.md §13: every holding of common too


def _assert_balance(r: Replayer, ev: BalanceAsserted) -> None:
    """SPEC.md §3 BalanceAsserted: a tie-out of shares on its date (§11: at its place)."""
    if ev.series == COMMON:
        if ev.holder is not None:  # SPEC.md §13: that holder's common
            if ev.holder not in r.state.holders:
                raise Rejected("holder", f"unknown holder {ev.holder!r}")
            actual = r.state.common_held(ev.holder)
            what = f"common held by {ev.holder!r}"
        else:
            actual = r.state.common_outstanding
            what = "common outstanding"
    else:
        s = r.series(ev.series)
        if ev.holder is not None:
            if ev.holder not in r.state.holders:
                raise Rejected("holder", f"unknown holder {ev.holder!r}")
            actual = s.held(ev.holder)
            what = f"Series {s.name} held by {ev.holder!r}"
        else:
            actual = s.outstanding
            what = f"Series {s.name} outstanding"
    if actual != ev.shares:
        raise Rejected("shares", f"balance assertion failed on {ev.effective_date}: expected "
                       f"{plain(ev.shares)}, actual {what} {plain(actual)}")


def _declare(r: Replayer, ev: DividendDeclared) -> None:
    """SPEC.md §12 DividendDeclared: only on a non-cumulative series. The holders of
    record and their amounts are fixed at the end of ``record_date``; the amounts fall
    due at the start of ``payment_date`` (``dividends.record_holders``, ``fall_due``)."""
    s = r.series(ev.series)
    if s.terms.cumulative:
        raise Rejected("series", f"Series {s.name} is cumulative: its dividends accrue and "
                       "fall due by themselves; DividendDeclared is only for a non-cumulative "
                       "series (cumulative false)")
    s.declarations.append(Declaration(ev.effective_date, ev.record_date, ev.payment_date,
                                      ev.amount_per_share, ev.id))


def _amend(r: Replayer, ev: TermsAmended) -> None:
    """SPEC.md §12 Amendments (see ``ledger.amendments``)."""
    s = r.series(ev.series)
    owes = bool(s.declarations) or s.unpaid() != 0 or s.unpaid(kind="payable") != 0
    amendments.amend(s, ev, lambda t, field: _check_claims(r, t, field), owes)


def _cancel(r: Replayer, ev: SharesCancelled) -> None:
    """SPEC.md §13 SharesCancelled (see ``ledger.cancellation``)."""
    if ev.series == COMMON:
        r.common_of(ev.holder, "holder", ev.shares)
        cancellation.cancel_common(r.state, ev)
        return
    s = r.series(ev.series)
    r.holder_of(s, ev.holder, "holder", ev.shares)
    cancellation.cancel_preferred(r.state, s, ev)


_HANDLERS: dict[type, Callable[[Replayer, object], None]] = {
    SeriesDesignated: _designate,  # type: ignore[dict-item]
    SharesIssued: _issue,  # type: ignore[dict-item]
    SharesTransferred: _transfer,  # type: ignore[dict-item]
    DividendPaid: _paid,  # type: ignore[dict-item]
    DividendMissed: _missed,  # type: ignore[dict-item]
    CommonStockIssued: _common,  # type: ignore[dict-item]
    CommonStockSplit: _split,  # type: ignore[dict-item]
    SharesConverted: _convert,  # type: ignore[dict-item]
    ShareholderApproval: _approve,  # type: ignore[dict-item]
    RedemptionNoticed: _notice,  # type: ignore[dict-item]
    SharesRedeemed: _redeem,  # type: ignore[dict-item]
    Liquidation: _liquidate,  # type: ignore[dict-item]
    BalanceAsserted: _assert_balance,  # type: ignore[dict-item]
    PublicOffering: _offering,  # type: ignore[dict-item]
    TermsAmended: _amend,  # type: ignore[dict-item]
    DividendDeclared: _declare,  # type: ignore[dict-item]
    SharesCancelled: _cancel,  # type: ignore[dict-item]
}


def replay(
    issuer: str,
    records: Iterable[Record],
    as_of: dt.date | None = None,
    resolve: TermsResolver = load_terms_ref,
    *,
    start: IssuerState | None = None,
    reversed_ids: frozenset[str] = frozenset(),
    designations: dict[str, dt.date] | None = None,
    hooks: Sequence[ReplayHooks] = (),
) -> tuple[IssuerState, list[Problem]]:
    """The state of ``issuer`` at the end of ``as_of`` (default: its last event's date).

    ``records`` are every event of the issuer that counts (already restricted to an
    as-recorded time if one is asked); reversed targets are left out here.

    Resuming (``ledger.store.checkpoints``): ``start`` is a state left by an earlier replay
    at some day D with D's events applied and D's end of day not yet run; ``records``
    are then only the events after it, ``reversed_ids`` the targets of reversals it
    already honoured and ``designations`` every designation of the log.

    ``hooks`` are told of every day and event as the calendar runs (``ReplayHooks``).
    """
    recs = list(records)
    targets, problems = reversed_targets(recs)
    live = [r for r in order(recs) if (r.event.id is None or r.event.id not in targets
            or isinstance(r.event, EventReversed))
            and (r.event.id is None or r.event.id not in reversed_ids)]
    rp = Replayer(issuer, resolve, hooks)
    if start is not None:
        rp.state = start
    else:
        rp.problems.extend(problems)
    rp.designations = {r.event.series: r.event.effective_date for r in live
                       if isinstance(r.event, SeriesDesignated)}
    if designations:
        rp.designations = {**designations, **rp.designations}
    if as_of is not None:
        live = [r for r in live if r.event.effective_date <= as_of]
    for h in rp.hooks:
        h.replay_started(rp, live)
    last = None
    for rec in live:
        rp.apply(rec)
        last = rec.event.effective_date
    if start is not None and last is None:
        last = start.day
    end = as_of if as_of is not None else last
    if end is not None:
        rp.finish(end)
    if as_of is None and last is not None:  # the whole timeline: the horizon's limits
        rp.problems.extend(_horizon_problems(rp, limits.horizon(last), live))
    return rp.state, rp.problems


# -- the limits of what a timeline makes (``ledger.limits``) ---------------------------

def _before_limits(r: Replayer, ev: object) -> None:
    """The limits an event would break, checked before it applies: the number of series,
    the cumulative split factor and the fractions a split leaves, the common outstanding."""
    st = r.state
    if isinstance(ev, SeriesDesignated):
        lim = limits.LIMITS["series_per_issuer"]
        if len(st.series) + 1 > lim.value:  # type: ignore[operator]
            raise Rejected("series", lim.refuse(len(st.series) + 1, "the series of issuer "
                                                f"{st.issuer!r} would number"))
    elif isinstance(ev, CommonStockSplit):
        lim = limits.LIMITS["split_factor"]
        factor = CONTEXT.multiply(st.split_factor, ev.ratio)
        if not lim.allows(factor):
            raise Rejected("ratio", lim.refuse(factor, "the cumulative split factor "
                                               f"({plain(st.split_factor)} × {plain(ev.ratio)})"))
        places = int(limits.value("share_decimals"))
        for holder, n in st.common.items():
            after = CONTEXT.multiply(n, ev.ratio)
            exp = after.normalize(CONTEXT).as_tuple().exponent
            if isinstance(exp, int) and -exp > places:
                who = "common without a holder" if holder is None else f"{holder!r}'s common"
                raise Rejected("ratio", limits.LIMITS["share_decimals"].refuse(
                    -exp, f"the split makes {who} {plain(after)}, a fraction of"))
        _common_within(st, _fully_diluted(st, ev.ratio), "ratio")
        st.split_factor = factor
    elif isinstance(ev, CommonStockIssued | PublicOffering):
        _common_within(st, _fully_diluted(st) + ev.shares, "shares")


def _fully_diluted(st: IssuerState, ratio: Decimal = ONE) -> Decimal:
    """Common outstanding plus what every convertible series can still convert into
    (its shares not yet converted, redeemed or cancelled × its conversion rate), after a
    split of ``ratio``."""
    total = CONTEXT.multiply(st.common_outstanding, ratio)
    for s in st.series.values():
        if s.conversion_rate is None or s.extinguished:
            continue
        left = (s.terms.authorized_shares - s.converted_total - s.redeemed_total
                - s.cancelled_total)
        total += CONTEXT.multiply(left, CONTEXT.multiply(s.conversion_rate, ratio))
    return total


def _common_within(st: IssuerState, common: Decimal, field: str) -> None:
    lim = limits.LIMITS["common_shares"]
    if common > lim.value:  # type: ignore[operator]
        raise Rejected(field, lim.refuse(common, "the fully diluted common (outstanding, "
                                         "and what the convertible series can still "
                                         "convert into) would be"))


def _after_limits(r: Replayer, ev: object) -> None:
    """The limits an event broke, checked once it applied (the load is then refused):
    the fully diluted common (conversion rates move with splits and anti-dilution),
    declared dividends."""
    st = r.state
    if isinstance(ev, CommonStockSplit | CommonStockIssued | PublicOffering | SharesIssued
                  | SharesConverted | ShareholderApproval | TermsAmended | SeriesDesignated):
        field = next((f for f in ("ratio", "price_per_share", "shares", "changes", "matters",
                                  "terms", "terms_ref") if getattr(ev, f, None) is not None),
                     "effective_date")
        _common_within(st, _fully_diluted(st), field)
    if isinstance(ev, DividendDeclared):
        s = st.series[ev.series]
        lim = limits.LIMITS["series_amount"]
        per_share = sum((d.amount_per_share for d in s.declarations), Decimal(0))
        owed = s.terms.authorized_shares * per_share + s.unpaid()
        if owed > lim.value:  # type: ignore[operator]
            raise Rejected("amount_per_share", lim.refuse(
                round(owed), f"Series {s.name}'s declared and unpaid dividends could reach"))


def _horizon_problems(r: Replayer, horizon: dt.date, live: list[Record]) -> list[Problem]:
    """The limits that depend on the whole timeline, to its ``horizon``: what each series
    can claim by then (dividends accrued linearly, or compounding, at the highest rate
    its terms allow) and the issuer's holder-periods (``ledger.limits``)."""
    out: list[Problem] = []
    periods_total = 0
    parts: list[str] = []
    for name, s in r.state.series.items():
        if s.extinguished:
            continue
        years = horizon.year - s.terms.designated.year + 1
        rec = r.terms_records.get(name)
        line, where = (rec.line, rec.where()) if rec else (0, f"SeriesDesignated "
                                                            f"series={name}")
        field = ("changes" if rec is not None and isinstance(rec.event, TermsAmended)
                 else "terms_ref" if rec is not None and getattr(rec.event, "terms_ref", None)
                 else "terms")
        for t in (s.terms, s.designated_terms):
            if t is None:
                continue
            rate = t.highest_rate if t.accrues else Decimal(0)
            claim = limits.claim_bound(t.authorized_shares, t.stated_value,
                                       t.claim_multiple, rate, years,
                                       t.compounding != "none")
            lim = limits.LIMITS["series_amount"]
            if claim > lim.value:  # type: ignore[operator]
                how = "compounding" if t.compounding != "none" else "accruing"
                out.append(Problem(line, where, field, lim.refuse(
                    f"{claim:.3e}" if claim >= 10 ** 20 else plain(Decimal(round(claim))),
                    f"what Series {name} can claim by the horizon {horizon} "
                    f"({plain(t.authorized_shares)} authorized × {plain(t.stated_value)} "
                    f"stated × ({plain(t.claim_multiple)} + dividends {how} at "
                    f"{plain(rate)} a year for {years} years)):")))
                break
        if s.terms.accrues:
            holders = len(set(s.lots.by_holder) | set(s.dues))
            n = holders * len(s.terms.period_starts) * years
            periods_total += n
            parts.append(f"Series {name}: {holders} holders × {len(s.terms.period_starts)} "
                         f"periods a year × {years} years")
    lim = limits.LIMITS["holder_periods"]
    if periods_total > lim.value and live:  # type: ignore[operator]
        last = live[-1]
        field = "holder" if getattr(last.event, "holder", None) else "effective_date"
        out.append(Problem(last.line, last.where(), field, lim.refuse(
            periods_total, f"the horizon {horizon} gives issuer {r.state.issuer!r} "
            + "; ".join(parts) + ": in all")))
    return out
