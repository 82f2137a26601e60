"""The wire types of bounded input, used by every request struct (see `domain.bounds`): msgspec
checks them while decoding, so an id above int64 is a 400 naming the field, never a 500."""

from __future__ import annotations

from typing import Annotated

import msgspec

from autoliq.domain.bounds import EARLIEST, INT64_MAX, INT64_MIN, LATEST

Int64 = Annotated[int, msgspec.Meta(ge=INT64_MIN, le=INT64_MAX)]
"""An id or a count: any int64 (the service judges the sign and the range it means)."""

BoundedYear = Annotated[int, msgspec.Meta(ge=EARLIEST.year, le=LATEST.year)]
"""The year of a date given as parts (`resetTradeDate`)."""
