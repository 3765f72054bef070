import json
import logging

from vision.logs import JsonFormatter, redact


def test_it_redacts_passwords_in_urls():
    assert redact("rtsp://admin:hunter2@10.0.0.5:554/live") == "rtsp://admin:***@10.0.0.5:554/live"
    assert redact("see http://u:p%40ss@cam/x and rtsp://cam/y") == "see http://u:***@cam/x and rtsp://cam/y"
    assert redact("no url here") == "no url here"


def test_it_writes_json_lines_without_secrets():
    record = logging.LogRecord("vigil", logging.WARNING, __file__, 1, "opening %s", ("rtsp://a:secret@h/s",), None)
    record.camera_url = "rtsp://a:secret@h/s"
    line = JsonFormatter().format(record)
    payload = json.loads(line)
    assert "secret" not in line
    assert payload["message"] == "opening rtsp://a:***@h/s"
    assert payload["camera_url"] == "rtsp://a:***@h/s"
    assert payload["level"] == "WARNING"
