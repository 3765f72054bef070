from django.db import migrations
from pgvector.django import VectorExtension


class Migration(migrations.Migration):
    """pgvector: correction embeddings and similarity search live in review."""

    initial = True
    dependencies: list[tuple[str, str]] = []
    operations = [VectorExtension()]
