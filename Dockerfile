# syntax=docker/dockerfile:1
#
# Vigil: one image for every process. docker-compose.yml picks the command of each
# service (web, stream worker, task worker, beat, and the one-shot migrate/models jobs).
#
#   docker compose build
#   docker build -t vigil .                 # without compose
#
# Build argument ONNXRUNTIME_GPU (see the CUDA note below) picks the ONNX Runtime build.

FROM python:3.11-slim-bookworm

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# ffmpeg: video tooling (and a real RTSP/HTTP peer for debugging streams).
# libgl1, libglib2.0-0: shared libraries that the opencv-python wheel links against.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg libgl1 libglib2.0-0 \
 && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

RUN python -m venv /opt/venv

# Non-root user, and the data folder the named volumes are mounted under. An empty
# named volume takes the owner of the folder it is mounted on, so creating these here,
# owned by vigil, is what makes the volumes writable for the app.
RUN groupadd --system --gid 10001 vigil \
 && useradd --system --uid 10001 --gid vigil --create-home --home-dir /home/vigil \
        --shell /usr/sbin/nologin vigil \
 && mkdir -p /data/media /data/models /data/videos /data/staticfiles \
 && chown -R vigil:vigil /data

WORKDIR /app

# --- Dependencies: from pyproject.toml alone, so this (large) layer is rebuilt only
# when the dependencies change, not on every source edit.
#
# CUDA note. The onnxruntime-gpu wheel carries none of CUDA itself: its CUDA provider
# links against cuBLAS, cuRAND, cuFFT, the CUDA runtime and (at run time) cuDNN 9. We
# take those from NVIDIA's pip wheels through ONNX Runtime's own extras,
# "onnxruntime-gpu[cuda,cudnn]", rather than an nvidia/cuda base image: the versions
# always match the ONNX Runtime that pip resolves, and the base stays python:slim.
#   * onnxruntime-gpu >= 1.27 (what pip picks today) is built for CUDA 13 + cuDNN 9:
#     the host needs NVIDIA driver >= 580.
#   * on an older driver (CUDA 12, driver >= 525), build with
#     --build-arg 'ONNXRUNTIME_GPU=onnxruntime-gpu[cuda,cudnn]<1.27'
#     (in compose: VIGIL_ONNXRUNTIME_GPU=...), which gives CUDA 12 + cuDNN 9.
# The wheels put their libraries under site-packages/nvidia/*/lib, where nothing looks
# for them unless the application calls onnxruntime.preload_dlls(); registering those
# folders with ldconfig makes them found by every process. The driver (libcuda.so.1)
# is the one library that comes from the host, injected by the NVIDIA Container Toolkit.
# The last lines fail the build if the CUDA provider would not load on a GPU host.
ARG ONNXRUNTIME_GPU="onnxruntime-gpu[cuda,cudnn]"
COPY pyproject.toml ./
# hadolint ignore=DL3013,DL3042
RUN --mount=type=cache,target=/root/.cache/pip \
    python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' \
        > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt "${ONNXRUNTIME_GPU}" "setuptools>=68" \
 && rm /tmp/requirements.txt \
 && site="$(python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')" \
 && find "$site/nvidia" -mindepth 2 -maxdepth 2 -type d -name lib | sort > /etc/ld.so.conf.d/vigil-nvidia-wheels.conf \
 && ldconfig \
 && ort_cuda="$site/onnxruntime/capi/libonnxruntime_providers_cuda.so" \
 && test -f "$ort_cuda" \
 && ldconfig -p | grep 'libcudnn\.so\.9' > /dev/null \
 && if ldd "$ort_cuda" | grep 'not found' | grep -v 'libcuda\.so\.1'; then \
        echo "the ONNX Runtime CUDA provider has unresolved libraries (listed above)" >&2; exit 1; \
    fi

# --- The project. Installed in editable mode (its dependencies are in already): the code
# stays in /app, so settings.BASE_DIR is /app and static/, templates/ and manage.py are
# found next to it; a plain `pip install .` would import vision from site-packages,
# where static/ and templates/ (not Python packages) do not exist. The source is owned
# by root and read-only for the app user.
COPY . .
RUN pip install --no-cache-dir --no-deps --no-build-isolation --editable . \
 && python -m compileall -q /app

ENV DJANGO_SETTINGS_MODULE=vision.settings \
    VIGIL_DATA_DIR=/data \
    VIGIL_MEDIA_ROOT=/data/media \
    VIGIL_MODEL_DIR=/data/models \
    VIGIL_VIDEO_DIR=/data/videos

USER 10001:10001
EXPOSE 8000

# The web process; docker-compose.yml sets the command of every other service.
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "vision.asgi:application"]
