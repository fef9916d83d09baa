"""Open Cap Format 1.2.0 interchange: the official schemas (shipped as package data),
export of a ledger as an OCF package, and import of one."""
