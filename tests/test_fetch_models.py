"""python manage.py fetch_models."""
import shutil
from dataclasses import replace

import pytest
from django.core.management import CommandError, call_command

from tests.conftest import SHARED
from tests.pipeline.rtsp_server import free_tcp_port
from workers.pipeline.catalogue import CATALOGUE


def test_it_keeps_verified_files_without_downloading(capsys):
    call_command("fetch_models", "yolox_nano", model_dir=SHARED / "models", verbosity=0)
    assert f"ok {SHARED / 'models' / 'yolox_nano.onnx'}" in capsys.readouterr().out


def test_it_fails_clearly_when_a_file_is_corrupt_and_cannot_be_downloaded(tmp_path, capsys, monkeypatch):
    spec = CATALOGUE["yolox_nano"]
    closed = f"http://127.0.0.1:{free_tcp_port()}/yolox_nano.onnx"  # nothing listens there
    monkeypatch.setitem(CATALOGUE, "yolox_nano", replace(spec, url=closed, mirrors=()))
    corrupt = tmp_path / "yolox_nano.onnx"
    shutil.copy(SHARED / "models" / "yolox_nano.onnx", corrupt)
    with corrupt.open("r+b") as f:
        f.seek(1000)
        f.write(b"\x00" * 16)
    with pytest.raises(CommandError, match="could not fetch yolox_nano"):
        call_command("fetch_models", "yolox_nano", model_dir=tmp_path, verbosity=0)
    assert "failed yolox_nano" in capsys.readouterr().err


def test_it_rejects_unknown_models():
    with pytest.raises(CommandError, match="unknown model"):
        call_command("fetch_models", "resnet9000")
