"""The owner's view (docs/owner.md): what was sent, what will be sent, what failed - over the runner.

runlog.py    a run as the state store keeps it (summary, counters), the configuration's version
upcoming.py  the forecast: the rules evaluated forward over a day's runs, nothing written
ledger.py    what the rows say was sent or is failing (`history`, the console), filtered
status.py    the one screen: last and next run, failures, login, configuration
daily.py     the daily report: the day's data, its text (a template the owner can change)
charts.py    the day's and the month's sends as inline SVG (pygal)
page.py      the report as one self-contained HTML page
publish.py   where the page goes: a file, or S3 with a time-limited link
after.py     what happens after every run: the run recorded, the daily report when it is due
config_store.py  the configuration as the console reads and writes it (a directory or S3), with versions
"""
