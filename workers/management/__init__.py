"""Django management commands of the stream runtime."""
