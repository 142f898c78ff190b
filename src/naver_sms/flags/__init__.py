"""Exactly-once, written once (docs/database.md, "The claim protocol"). The life of one flag of one row:

    open --claim--> claimed --commit--> done
                       |  \\--release--> open (attempts + 1)  or  failed (attempts reached the bound, or at
                       |                 once for a permanent failure that no retry can fix: `permanent`)
                       \\--lease expires--> stale --claim (takeover)--> claimed, with `Claim.stale` set: the
                                            caller resolves it (e.g. the SMS provider's look-up) before
                                            acting again, or puts it back (abandon)
    failed --reset (an operator)--> open, due for a retry

`state` reads a flag's bookkeeping into a frozen `FlagState`; `store` is the storage port a backend implements
(`RecordStore`, `Expect`); `machine` makes each transition one conditional write on it (`FlagRepository`), so
two runs racing on one flag get one winner on any backend whose conditional writes are atomic; `effect` is
the one walk of the machine around a side effect (`guarded_effect`), which classifies what an effect raised:
unknown outcome (claims kept), permanent (`is_permanent`: failed for good at once), or a retry later.
"""
