class CatalogImportError(Exception):
    """A package that cannot be imported; the message is shown to administrators as is."""

    def __init__(self, message: str, *, file: str = "") -> None:
        self.file = file
        super().__init__(f"{file}: {message}" if file else message)
