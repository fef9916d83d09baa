"""prefledger's domain: terms, events, the issuer stream, accrual, conversion,
redemption, waterfall, replay and stores. The Python API is ``ledger.api.Ledger``."""
