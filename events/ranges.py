"""Files with HTTP range requests: browsers seek in a ``<video>`` with them (Safari plays none without).

One range per request (``bytes=start-end``, ``bytes=start-``, ``bytes=-suffix``), which is
what browsers ask for; anything else gets the whole file.
"""
from __future__ import annotations

import mimetypes
import re
from pathlib import Path

from django.http import FileResponse, HttpRequest, HttpResponse

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
MAX_CHUNK = 8 * 2**20  # a longer range is answered in part, as HTTP allows: the browser asks on


def _slice(header: str, size: int) -> tuple[int, int] | None:
    """``(first, last)`` byte of a satisfiable single range; None for no (usable) range."""
    match = _RANGE.match(header.strip())
    if not match or not (match[1] or match[2]):
        return None
    if not match[1]:
        return max(0, size - int(match[2])), size - 1
    first = int(match[1])
    last = min(int(match[2]), size - 1) if match[2] else size - 1
    return first, min(last, first + MAX_CHUNK - 1)


def file_response(request: HttpRequest, path: Path) -> HttpResponse:
    size = path.stat().st_size
    wanted = _slice(request.headers.get("Range", ""), size)
    if wanted is None:
        response: HttpResponse = FileResponse(path.open("rb"))
        response["Accept-Ranges"] = "bytes"
        return response
    first, last = wanted
    if first > last:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    with path.open("rb") as file:
        file.seek(first)
        data = file.read(last - first + 1)
    response = HttpResponse(data, status=206, content_type=mimetypes.guess_type(path.name)[0] or "application/octet-stream")
    response["Content-Range"] = f"bytes {first}-{last}/{size}"
    response["Accept-Ranges"] = "bytes"
    return response
