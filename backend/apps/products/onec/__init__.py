"""The 1C CommerceML catalog importer.

The pipeline, in the order a package flows through it:

1. ``layout``   — find the files in the data dir, tell each one's kind by its content, order them
                  (classifier → goods → offers → prices → stock).
2. ``safexml``  — the hardened lxml settings every parse uses (no DTD, no entities,
                  no network) and the pre-scan that validates every file and counts its items
                  before anything is written.
3. ``reader``   — streams each file element by element into plain records (``records``).
4. ``writer``   — turns records into short, atomic bulk upserts, skipping unchanged rows.
5. ``pipeline`` — drives 1–4 and reports progress; ``apps.products.services.catalog_import``
                  wraps it with the Redis lock and the ``ImportSession`` bookkeeping.
"""
