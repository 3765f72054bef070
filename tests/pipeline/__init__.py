"""Tests of the CV pipeline (workers.pipeline): real models on real video, no Django."""
