"""List what each report language's catalogue lacks, or has too many, against English.

    python tools/catalogue_keys.py          # every language
    python tools/catalogue_keys.py fr       # one

Prints one line per missing key, unknown key or key whose {placeholders} differ from en.toml,
and exits 1 when there is any (tests/test_report_language.py checks the same).
"""

from __future__ import annotations

import sys

from cmflow.presentation.language import LANGUAGES, REFERENCE, catalogue_differences


def main(codes: list[str]) -> int:
    unknown = [code for code in codes if code not in LANGUAGES]
    if unknown:
        print(f"no catalogue for {', '.join(unknown)}: the languages are {', '.join(LANGUAGES)}", file=sys.stderr)
        return 2
    failed = False
    for code in codes or [c for c in LANGUAGES if c != REFERENCE]:
        problems = catalogue_differences(code)
        failed |= bool(problems)
        print("\n".join(problems) if problems else f"{code}: same keys and placeholders as {REFERENCE}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
