from __future__ import annotations

import dataclasses
import hashlib
import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from workers.pipeline.catalogue import (
    CATALOGUE,
    MOBILENETV2_INT8,
    ModelFileError,
    derive_embedding_model,
    fetch_model,
    locate_model,
)

ALL_SPECS = [*CATALOGUE.values(), MOBILENETV2_INT8]


@pytest.mark.parametrize("spec", ALL_SPECS, ids=lambda s: s.name)
def test_it_accepts_the_shared_models(spec, model_dir: Path) -> None:
    assert locate_model(spec, model_dir) == model_dir / spec.filename


def test_it_names_the_missing_file_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError) as raised:
        locate_model(CATALOGUE["yolox_nano"], tmp_path)
    message = str(raised.value)
    assert str(tmp_path / "yolox_nano.onnx") in message
    assert "missing" in message
    assert "python manage.py fetch_models" in message and "VIGIL_MODEL_DIR" in message


def test_it_reports_a_truncated_file(tmp_path: Path, model_dir: Path) -> None:
    spec = CATALOGUE["yolox_nano"]
    (tmp_path / spec.filename).write_bytes((model_dir / spec.filename).read_bytes()[:1000])
    with pytest.raises(ModelFileError, match=r"has 1000 bytes, expected 3660092.*fetch_models"):
        locate_model(spec, tmp_path)


def test_it_reports_a_corrupted_copy_with_both_checksums(tmp_path: Path, model_dir: Path) -> None:
    spec = CATALOGUE["yolox_nano"]
    data = bytearray((model_dir / spec.filename).read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte, same size
    corrupted = tmp_path / spec.filename
    corrupted.write_bytes(data)
    with pytest.raises(ModelFileError) as raised:
        locate_model(spec, tmp_path)
    message = str(raised.value)
    assert str(corrupted) in message
    assert hashlib.sha256(data).hexdigest() in message and spec.sha256 in message
    assert "python manage.py fetch_models" in message


def test_it_rechecks_a_file_that_changed_since_it_was_hashed(tmp_path: Path, model_dir: Path) -> None:
    spec = CATALOGUE["yolox_nano"]
    copy = tmp_path / spec.filename
    shutil.copyfile(model_dir / spec.filename, copy)
    assert locate_model(spec, tmp_path) == copy
    data = bytearray(copy.read_bytes())
    data[-1] ^= 0xFF
    copy.write_bytes(data)
    with pytest.raises(ModelFileError, match="checksum"):
        locate_model(spec, tmp_path)


def test_it_derives_the_embedding_model_byte_for_byte(tmp_path: Path, model_dir: Path) -> None:
    out = tmp_path / "derived.onnx"
    derive_embedding_model(model_dir / MOBILENETV2_INT8.filename, out)
    assert hashlib.sha256(out.read_bytes()).hexdigest() == CATALOGUE["mobilenetv2_embed"].sha256

    # And it runs: logits plus a (N, 1280) non-negative embedding.
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).normal(size=(2, 3, 224, 224)).astype(np.float32)
    logits, embedding = session.run(["output", "embedding"], {"input": x})
    assert logits.shape == (2, 1000) and embedding.shape == (2, 1280)
    assert (embedding >= 0).all()


def _local(spec, model_dir: Path):
    """The spec with its origin replaced by the verified shared copy (no network in tests)."""
    return dataclasses.replace(spec, url=(model_dir / spec.filename).as_uri(), mirrors=())


def test_it_fetches_verifies_and_installs_atomically(tmp_path: Path, model_dir: Path) -> None:
    spec = _local(CATALOGUE["yolox_nano"], model_dir)
    path = fetch_model(spec, tmp_path, progress=False)
    assert path == tmp_path / spec.filename
    assert locate_model(spec, tmp_path) == path
    assert [p.name for p in tmp_path.iterdir()] == [spec.filename]  # no leftover temporary file

    mtime = path.stat().st_mtime_ns
    fetch_model(spec, tmp_path, progress=False)
    assert path.stat().st_mtime_ns == mtime  # already there and verified: kept


def test_it_tries_mirrors_and_refuses_bad_bytes(tmp_path: Path, model_dir: Path) -> None:
    good = _local(CATALOGUE["yolox_nano"], model_dir)
    wrong_bytes = (model_dir / MOBILENETV2_INT8.filename).as_uri()
    with_mirror = dataclasses.replace(good, url=wrong_bytes, mirrors=(good.url,))
    assert fetch_model(with_mirror, tmp_path / "a", progress=False).is_file()

    only_bad = dataclasses.replace(good, url=wrong_bytes)
    with pytest.raises(ModelFileError, match="could not download yolox_nano.onnx"):
        fetch_model(only_bad, tmp_path / "b", progress=False)
    assert list((tmp_path / "b").iterdir()) == []


def test_it_fetches_the_base_and_derives_the_embedding_model(tmp_path: Path, model_dir: Path) -> None:
    spec = CATALOGUE["mobilenetv2_embed"]
    assert spec.derived_from is not None
    local = dataclasses.replace(spec, derived_from=_local(spec.derived_from, model_dir))
    path = fetch_model(local, tmp_path, progress=False)
    assert locate_model(spec, tmp_path) == path
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([spec.filename, MOBILENETV2_INT8.filename])
