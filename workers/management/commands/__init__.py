"""``python manage.py <command>`` entry points of the stream runtime."""
