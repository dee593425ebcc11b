"""Option types that check at validate what would otherwise fail at run time.

A plugin's options model uses them like ``str``: ``timezone: TimeZoneName | None = Field(...)``.
A misspelt time zone, a date format with no directive, an encoding Python does not know, a URL
without a scheme or an output path that climbs out of its folder is then reported by
``cmflow validate`` at the option's key path, not when the run reaches that source or output;
a number written in quotes (``"1.500"``), which pydantic alone reads without a word, too.
"""

from __future__ import annotations

import codecs
import re
from typing import Annotated, Union

from pydantic import AfterValidator, BeforeValidator
from pydantic_core import PydanticCustomError

from cmflow.plugins.output_paths import check_path_template, check_stays_inside
from cmflow.foundation.periods import check_timezone
from cmflow.foundation.secrets import FromEnvironment

_STRFTIME_DIRECTIVE = re.compile(r"%[-#]?[A-Za-z]|%\.f|%:z")
_CHRONO_DIRECTIVES = set("aAbBcCdDeFgGhHIjklmMnpPrRsStTuUVwWxXyYzZf") | {".f", ":z"}
_URL = r"(?i)^https?://[^\s/?#]+[^\s]*$"
"""A pattern, compiled by re on first use: only a workflow with a web address option needs it."""


def _timezone(value: str) -> str:
    return check_timezone(value.strip())


def _strftime_format(value: str) -> str:
    directives = _STRFTIME_DIRECTIVE.findall(value)
    if not directives:
        raise ValueError(f"{value!r} has no % directive: write a strftime format such as "
                         "\"%d/%m/%Y %H:%M\" (%d day, %m month, %Y year, %H hour, %M minute)")
    unknown = [d for d in directives if d.lstrip("%-#") not in _CHRONO_DIRECTIVES]
    if unknown:
        raise ValueError(f"{value!r}: unknown directive {unknown[0]}; use %d, %m, %Y, %H, %M, %S, %z ...")
    if value.count("%") != value.count("%%") * 2 + len(directives):
        raise ValueError(f"{value!r}: a % not followed by a directive (write %% for a percent sign)")
    return value


def _strftime_formats(value: Union[str, list[str]]) -> Union[str, list[str]]:
    if isinstance(value, list):
        if not value:
            raise ValueError("must list at least one format")
        for item in value:
            _strftime_format(item)
        return value
    return _strftime_format(value)


def _encoding(value: str) -> str:
    try:
        codecs.lookup(value)
    except LookupError:
        raise ValueError(f"unknown text encoding {value!r}; use e.g. \"utf-8\", \"utf-16\", "
                         "\"latin-1\" or \"cp1252\" (Excel on Windows)") from None
    return value


def _web_url(value: str) -> str:
    value = value.strip()
    if not re.match(_URL, value):
        raise ValueError(f"{value!r} is not an http(s) URL; write it in full, e.g. https://example.org/feed")
    return value


def _hex_colour(value: str) -> str:
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", value.strip()):
        raise ValueError(f"{value!r} is not a colour written #rrggbb, e.g. \"#2563eb\"")
    return value.strip()


def _unquoted_number(value: object, whole: bool = False) -> object:
    if isinstance(value, str) and not isinstance(value, FromEnvironment):
        # TOML has numbers: a string here is a mistake, and pydantic's lax reading would take
        # "1.500" (one thousand five hundred, in French) as 1.5 without a word.
        raise PydanticCustomError("number_in_quotes", "a number must be written without quotes", {"whole": whole})
    if isinstance(value, bool):  # pydantic would read true as 1 (n = true: one top post)
        raise PydanticCustomError("boolean_for_number", "a number is not true or false", {"whole": whole})
    return value


def _unquoted_whole_number(value: object) -> object:
    return _unquoted_number(value, whole=True)


class InputFileMarker:
    """Marks an option naming a file a plugin reads (relative to the workflow file): the
    workflow loader refuses a folder there at validate."""


INPUT_FILE = InputFileMarker()


class WebAddressMarker:
    """Marks an option naming a server cmflow connects to: unless the plugin sets
    ``allow_private_network = true``, the workflow loader refuses a literal private address,
    ``localhost`` or a metadata name there at validate (see :mod:`cmflow.http.guard`)."""


WEB_ADDRESS = WebAddressMarker()

TimeZoneName = Annotated[str, AfterValidator(_timezone)]
"""An IANA time zone name such as ``Europe/Paris``; a misspelt one gets "did you mean"."""
StrftimeFormats = Annotated[Union[str, list[str]], AfterValidator(_strftime_formats)]
"""One strftime format, or a list of them tried in order (``"%d/%m/%Y %H:%M"``)."""
TextEncoding = Annotated[str, AfterValidator(_encoding)]
"""A text encoding Python knows (``utf-8``, ``cp1252``, ``latin-1``)."""
WebUrl = Annotated[str, AfterValidator(_web_url), WEB_ADDRESS]
"""An http:// or https:// URL of a server cmflow connects to."""
HexColour = Annotated[str, AfterValidator(_hex_colour)]
"""A colour written ``#rrggbb``."""
OutputPath = Annotated[str, AfterValidator(check_path_template)]
"""A file an output writes: absolute or under the current directory, with {workflow}, {period}
and {date} placeholders (see :mod:`cmflow.plugins.output_paths`)."""
REPORT_PLACEHOLDERS = ("workflow", "period", "date", "client", "format", "audience", "language")
ReportPath = Annotated[str, AfterValidator(lambda template: check_path_template(template, REPORT_PLACEHOLDERS))]
"""A report file's path: an :data:`OutputPath` that may also hold {client} (the client's id, or
``all``), {format} (html, pdf, xlsx, csv, json), {audience} and {language}."""
OutputFolder = Annotated[str, AfterValidator(check_stays_inside)]
"""A folder an output writes into: absolute or under the current directory (no ``..``)."""
InputPath = Annotated[str, INPUT_FILE]
"""A file a plugin reads: relative to the workflow file, absolute, or builtin:... for bundled
data. A folder there is refused at validate; a missing file is not (it may be written later)."""
Number = Annotated[float, BeforeValidator(_unquoted_number)]
"""A number written as TOML writes one (``target = 1500``, ``ratio = 2.5``): a string in quotes
there is refused with the line to write, a value from ``${env:NAME}`` is read as written."""
WholeNumber = Annotated[int, BeforeValidator(_unquoted_whole_number)]
"""A whole number written as TOML writes one (``weeks = 8``), as :data:`Number` is."""
