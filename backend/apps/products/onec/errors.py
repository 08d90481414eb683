class CatalogImportError(Exception):
    """A package that cannot be imported; the message is shown to administrators as is."""

    def __init__(self, message: str, *, file: str = "") -> None:
        self.message, self.file = message, file
        super().__init__(f"{file}: {message}" if file else message)

    def __reduce__(self):  # crosses process boundaries (the parallel pre-scan) intact
        return _rebuild, (self.message, self.file)


def _rebuild(message: str, file: str) -> "CatalogImportError":
    return CatalogImportError(message, file=file)
