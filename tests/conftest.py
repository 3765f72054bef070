"""Fixtures shared by the Django-side tests: users of each role, Redis, shared data."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from vision.roles import ADMIN, OPERATOR, REVIEWER

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("VIGIL_SHARED_DIR", REPO.parent / "shared")).resolve()
MEDIA_DIR = SHARED / "media"
ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture(scope="session")
def shared_media() -> Path:
    return MEDIA_DIR


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def make_user(username: str, role: str | None):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username=username, password="correct-horse-battery")
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def operator(db):
    return make_user("olivia", OPERATOR)


@pytest.fixture
def reviewer(db):
    return make_user("rafael", REVIEWER)


@pytest.fixture
def admin_user(db):
    return make_user("ada", ADMIN)


@pytest.fixture
def nobody(db):
    """Signed in, but in no group."""
    return make_user("nemo", None)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def redis_client(settings):
    from vision.redis_client import get_redis

    client = get_redis()
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture
def video_dir(settings) -> Path:
    """The demo video folder: the shared sample videos."""
    settings.VIGIL_VIDEO_DIR = MEDIA_DIR
    return MEDIA_DIR


@pytest.fixture
def media_root(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
