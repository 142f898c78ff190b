"""Exactly-once in the middle of the house (docs/database.md): a flag's state (`state`: `FlagState`,
`read_flag`), the storage port a backend implements (`store`: `RecordStore`, `Expect`), the state machine
written once over it (`machine`: `FlagRepository`, `Claim`) and the one guarded effect around a side effect
(`effect`: `guarded_effect`)."""
