"""A small RTSP camera for tests: ffmpeg encodes a video file, this serves it like an IP camera.

ffmpeg cannot serve RTSP to a player by itself (``-rtsp_flags listen`` exists only for
its RTSP *input*, the receiving end of a push), so ffmpeg sends RTP/H.264 packets to a
local UDP port and :class:`RtspCamera` relays them to every RTSP client over the
RTSP TCP connection (interleaved RTP, RFC 2326 section 10.12), as cameras do when a
client asks for ``rtsp_transport=tcp``. It answers OPTIONS, DESCRIBE, SETUP, PLAY,
GET_PARAMETER and TEARDOWN; anything else gets 501. ``stop()`` drops every
connection at once, like a camera losing power.
"""
from __future__ import annotations

import base64
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

_SESSION = "7353A5E1"


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _udp_pair() -> tuple[socket.socket, socket.socket]:
    """Two bound UDP sockets on ports P (even, RTP) and P + 1 (RTCP), as RTP expects."""
    for _ in range(100):
        rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rtp.bind(("127.0.0.1", 0))
        port = rtp.getsockname()[1]
        if port % 2 == 0:
            rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                rtcp.bind(("127.0.0.1", port + 1))
                return rtp, rtcp
            except OSError:
                rtcp.close()
        rtp.close()
    raise RuntimeError("no free even/odd UDP port pair")


class RtspCamera:
    """Serves ``video`` in a loop at ``rtsp://127.0.0.1:<port>/cam`` until :meth:`stop`.

    With ``credentials`` (user, password) it demands HTTP Basic authentication, as
    many cameras do, and answers 401 without it.
    """

    def __init__(
        self,
        video: Path,
        port: int,
        *,
        ffmpeg: str = "ffmpeg",
        credentials: tuple[str, str] | None = None,
        fps: int = 25,
        gop: int = 12,
    ) -> None:
        self.port = port
        self.url = f"rtsp://127.0.0.1:{port}/cam"
        self._authorization = (
            "Basic " + base64.b64encode(":".join(credentials).encode()).decode() if credentials else None
        )
        self._rtp, self._rtcp = _udp_pair()
        rtp_port = self._rtp.getsockname()[1]
        self._listener = socket.create_server(("127.0.0.1", port))
        for sock in (self._listener, self._rtp, self._rtcp):
            sock.settimeout(0.2)  # blocking calls wake up to notice stop()
        self._connections: set[socket.socket] = set()
        self._clients: list[tuple[socket.socket, threading.Lock]] = []  # those playing
        self._clients_lock = threading.Lock()
        self._stopped = threading.Event()
        sdp_path = Path(tempfile.mkdtemp(prefix="vigil-rtsp-")) / "stream.sdp"
        # A camera-like stream: H.264 at `fps` with a keyframe every `gop` frames and the
        # parameter sets in the SDP, so a client that joins mid-stream opens it in ~2 s.
        self._ffmpeg = subprocess.Popen(
            [
                ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin",
                "-re", "-stream_loop", "-1", "-i", str(video),
                "-an", "-r", str(fps), "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
                "-g", str(gop), "-bf", "0", "-pix_fmt", "yuv420p", "-flags", "+global_header",
                "-x264-params", "repeat-headers=1",
                "-f", "rtp", "-sdp_file", str(sdp_path), f"rtp://127.0.0.1:{rtp_port}?pkt_size=1200",
            ],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        self._sdp = self._read_sdp(sdp_path)
        self._threads = [
            threading.Thread(target=self._accept, daemon=True),
            threading.Thread(target=self._relay, daemon=True),
            threading.Thread(target=self._drain_rtcp, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _read_sdp(self, path: Path) -> str:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._ffmpeg.poll() is not None:
                raise RuntimeError(f"ffmpeg exited with {self._ffmpeg.returncode}")
            text = path.read_text() if path.exists() else ""
            if "m=video" in text and "a=rtpmap" in text:
                shutil.rmtree(path.parent)
                lines = [line for line in text.splitlines() if line]
                out = []
                for line in lines:
                    if line.startswith("m=video"):
                        line = re.sub(r"^m=video \d+", "m=video 0", line)
                    out.append(line)
                    if line.startswith("m=video"):
                        out.append("a=control:trackID=0")
                return "\r\n".join(out) + "\r\n"
            time.sleep(0.05)
        raise RuntimeError("ffmpeg wrote no SDP")

    def stop(self) -> None:
        """Kill the stream and drop every connection; the port is free again on return."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._ffmpeg.kill()
        self._ffmpeg.wait()
        for thread in self._threads:
            thread.join()
        self._listener.close()
        self._rtp.close()
        self._rtcp.close()
        with self._clients_lock:
            for conn in self._connections:
                _close(conn)
            self._clients.clear()

    def client_count(self) -> int:
        with self._clients_lock:
            return len(self._clients)

    # --- threads ----------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            conn.settimeout(None)
            with self._clients_lock:
                self._connections.add(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _relay(self) -> None:
        while not self._stopped.is_set():
            try:
                packet = self._rtp.recv(65536)
            except TimeoutError:
                continue
            frame = b"$\x00" + len(packet).to_bytes(2, "big") + packet
            with self._clients_lock:
                clients = list(self._clients)
            for conn, lock in clients:
                try:
                    with lock:
                        conn.sendall(frame)
                except OSError:
                    self._forget(conn)

    def _drain_rtcp(self) -> None:
        while not self._stopped.is_set():
            try:
                self._rtcp.recv(65536)
            except TimeoutError:
                continue

    def _serve(self, conn: socket.socket) -> None:
        lock = threading.Lock()
        buffer = b""
        try:
            while not self._stopped.is_set():
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buffer += chunk
                while buffer:
                    if buffer[:1] == b"$":  # interleaved RTCP from the client: skip it
                        if len(buffer) < 4 or len(buffer) < 4 + int.from_bytes(buffer[2:4], "big"):
                            break
                        buffer = buffer[4 + int.from_bytes(buffer[2:4], "big") :]
                        continue
                    head, sep, rest = buffer.partition(b"\r\n\r\n")
                    if not sep:
                        break
                    match = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                    body_length = int(match.group(1)) if match else 0
                    if len(rest) < body_length:
                        break
                    buffer = rest[body_length:]
                    self._answer(conn, lock, head.decode("latin-1"))
        except OSError:
            return
        finally:
            self._forget(conn)
            with self._clients_lock:
                self._connections.discard(conn)
            _close(conn)

    def _answer(self, conn: socket.socket, lock: threading.Lock, head: str) -> None:
        request_line, *header_lines = head.split("\r\n")
        method = request_line.split(" ", 1)[0]
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
        reply = [f"CSeq: {headers.get('cseq', '0')}"]
        body = ""
        status = "200 OK"
        if method in ("DESCRIBE", "SETUP", "PLAY") and headers.get("authorization") != self._authorization:
            status = "401 Unauthorized"
            reply.append('WWW-Authenticate: Basic realm="camera"')
        elif method == "OPTIONS":
            reply.append("Public: OPTIONS, DESCRIBE, SETUP, PLAY, GET_PARAMETER, TEARDOWN")
        elif method == "DESCRIBE":
            body = self._sdp
            reply += ["Content-Type: application/sdp", f"Content-Base: {self.url}/"]
        elif method == "SETUP":
            if "tcp" not in headers.get("transport", "").lower():
                status = "461 Unsupported Transport"
            else:
                reply += ["Transport: RTP/AVP/TCP;unicast;interleaved=0-1", f"Session: {_SESSION};timeout=60"]
        elif method == "PLAY":
            reply += [f"Session: {_SESSION}", "Range: npt=0.000-"]
            with self._clients_lock:
                self._clients.append((conn, lock))
        elif method in ("GET_PARAMETER", "TEARDOWN"):
            reply.append(f"Session: {_SESSION}")
        else:
            status = "501 Not Implemented"
        text = f"RTSP/1.0 {status}\r\n" + "".join(f"{line}\r\n" for line in reply)
        text += f"Content-Length: {len(body)}\r\n\r\n{body}" if body else "\r\n"
        with lock:
            conn.sendall(text.encode())
        if method == "TEARDOWN":
            self._forget(conn)

    def _forget(self, conn: socket.socket) -> None:
        with self._clients_lock:
            self._clients = [(c, lock) for c, lock in self._clients if c is not conn]


def _close(conn: socket.socket) -> None:
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    conn.close()
