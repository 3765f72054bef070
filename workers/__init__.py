"""Stream runtime: wires the CV pipeline to Django, Redis and Celery."""
