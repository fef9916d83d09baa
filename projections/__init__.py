"""Read models built from the ledger: reports (position, rates, conversions) and feeds."""
