"""Plain-words reasons why a video source could not be opened.

OpenCV's ``VideoCapture`` only says "not opened". After a failed open, these checks
ask the network (DNS, TCP connect, an RTSP ``DESCRIBE`` or an HTTP request) what is
wrong, so an operator reads "connection refused by 10.0.0.7:554" or "authentication
failed" instead of a silent black tile. They run only after a failure: some cheap
cameras (and ``ffmpeg -rtsp_flags listen``) serve a single connection.
"""
from __future__ import annotations

import errno
import socket
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import unquote, urlsplit

_DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443}
_VIDEO_CONTENT_TYPES = ("video/", "multipart/", "application/vnd.apple.mpegurl", "application/x-mpegurl", "image/")


def explain_open_failure(kind: str, url: str, timeout_s: float) -> str:
    """Why ``url`` (a source of ``kind`` "rtsp", "http" or "file") does not open; never raises."""
    if kind == "file":
        path = Path(url)
        if not path.is_file():
            return f"video file {path.name} not found"
        return f"{path.name} is not a video FFmpeg can decode"
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme, 0)
    except ValueError:
        return "invalid port in the URL"
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as conn:
            if parts.scheme == "rtsp":
                return _ask_rtsp(conn, url, has_credentials=parts.password is not None)
    except socket.gaierror:
        return f"unknown host {host!r} (name lookup failed)"
    except ConnectionRefusedError:
        return f"connection refused by {host}:{port} (nothing is listening there)"
    except TimeoutError:
        return f"timed out connecting to {host}:{port} ({timeout_s:g} s)"
    except OSError as exc:
        if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return f"host {host} unreachable ({exc.strerror})"
        return f"cannot connect to {host}:{port} ({exc.strerror or exc})"
    if parts.scheme in ("http", "https"):
        return _ask_http(url, timeout_s, has_credentials=parts.password is not None)
    return f"{host}:{port} accepts connections but the stream could not be opened"


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=netloc).geturl()


def _auth_failure(has_credentials: bool) -> str:
    if has_credentials:
        return "authentication failed: check the user name and password"
    return "the camera requires a user name and password"


def _ask_rtsp(conn: socket.socket, url: str, *, has_credentials: bool) -> str:
    """Send an unauthenticated DESCRIBE and translate the status line."""
    request = f"DESCRIBE {_without_credentials(url)} RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\n\r\n"
    conn.sendall(request.encode())
    try:
        status_line = conn.recv(4096).split(b"\r\n", 1)[0].decode("latin-1")
    except OSError as exc:
        return f"the camera accepted the connection but did not answer ({exc.strerror or exc})"
    fields = status_line.split(" ", 2)
    if len(fields) < 2 or not fields[0].startswith("RTSP/"):
        return "the server does not speak RTSP"
    code = fields[1]
    if code == "401":
        return _auth_failure(has_credentials)
    if code == "404":
        return "stream not found on the camera (RTSP 404): check the path in the URL"
    if code == "200":
        return "the camera answered but its stream could not be decoded"
    return f"the camera answered RTSP {code} {fields[2] if len(fields) > 2 else ''}".rstrip()


def _ask_http(url: str, timeout_s: float, *, has_credentials: bool) -> str:
    """GET the URL (credentials as Basic or Digest auth, as the server asks) and check what comes back."""
    parts = urlsplit(url)
    bare_url = _without_credentials(url)
    handlers: list[urllib.request.BaseHandler] = []
    if has_credentials:
        passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        passwords.add_password(None, bare_url, unquote(parts.username or ""), unquote(parts.password or ""))
        handlers += [urllib.request.HTTPBasicAuthHandler(passwords), urllib.request.HTTPDigestAuthHandler(passwords)]
    try:
        with urllib.request.build_opener(*handlers).open(bare_url, timeout=timeout_s) as response:
            content_type = response.headers.get_content_type()
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            return _auth_failure(has_credentials)
        if exc.code == 404:
            return "stream not found (HTTP 404): check the path in the URL"
        return f"the server answered HTTP {exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError) as exc:
        return f"HTTP request failed ({getattr(exc, 'reason', exc)})"
    if not content_type.startswith(_VIDEO_CONTENT_TYPES):
        return f"not a video stream (the server sends {content_type})"
    return f"the {content_type} stream could not be decoded"
