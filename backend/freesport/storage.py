"""Static files storage for production: WhiteNoise's hashed and compressed manifest storage.

Jazzmin 3.0.5's ``admin/base.html`` writes ``{% static 'vendor/bootswatch' %}`` (the folder its
theme chooser appends theme names to). A folder has no manifest entry, so the manifest storage
raises ``ValueError: Missing staticfiles manifest entry for 'vendor/bootswatch'`` on every admin
page under ``DEBUG=False``. Here a name that is a folder of collected files resolves to itself,
unhashed (WhiteNoise serves the unhashed copies too); any other missing name still raises.
"""
from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    def stored_name(self, name):
        try:
            return super().stored_name(name)
        except ValueError:
            if self._is_collected_folder(name):
                return name.rstrip("/")
            raise

    def _is_collected_folder(self, name: str) -> bool:
        prefix = self.clean_name(name).strip("/") + "/"
        return any(key.startswith(prefix) for key in self.hashed_files)
