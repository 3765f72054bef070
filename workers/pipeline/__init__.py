"""Vigil's computer-vision pipeline: sources, motion gate, detector, tracker, rules, drawing.

Plain Python on NumPy, OpenCV and ONNX Runtime. Nothing here imports Django or the
Django apps (an import-linter contract enforces it), so every stage can be tested
and benchmarked alone on real video.
"""
