"""What the law asks of an advertising SMS (`contentType: AD`), checked when templates.yaml is loaded.

정보통신망법 §50 (docs/rules/actions.md, "Advertising"): an advertising text starts with `(광고)` and the
sender's name, and carries a free way to refuse further advertising - a `무료수신거부` line with a free 080
number. The night-time ban (21:00-08:00) is kept by the rules (naver_sms.rules.quiet), not by the text.
"""

from __future__ import annotations

import re

AD_PREFIX = "(광고)"
#: `무료수신거부 080-123-4567` (spaces, a colon or hyphens may vary; the number is a free 080 number)
_OPT_OUT_LINE = re.compile(r"무료\s*수신\s*거부\s*[:：]?\s*080[-\s]?[0-9]{3,4}[-\s]?[0-9]{4}")


def advertising_problems(text: str, *, sender: str) -> list[str]:
    """What an advertising text lacks, each with its fix; `sender` is the business's name for the examples."""
    problems = []
    first_line = text.split("\n", 1)[0]
    if not text.startswith(AD_PREFIX):
        problems.append(
            f'an advertising text (contentType: AD) must start with "{AD_PREFIX}" and the sender\'s name: '
            f'begin it with "{AD_PREFIX}{sender}"'
        )
    elif not first_line.removeprefix(AD_PREFIX).strip():
        problems.append(
            f'an advertising text must name its sender right after "{AD_PREFIX}", on the first line: '
            f'"{AD_PREFIX}{sender}"'
        )
    if not _OPT_OUT_LINE.search(text):
        problems.append(
            "an advertising text must carry a free opt-out line with an 080 number: end it with a line "
            'like "무료수신거부 080-000-0000" (the number of your free opt-out service)'
        )
    return problems
