"""The text transform's fast paths: the C extension where it is built, else the same API in Python.

transforms/_fastseg.c is an optional accelerator. `pip install` builds it where a C compiler exists
(setup.py skips it with a warning where none does); transforms/_pyfastseg.py is the pure-Python
implementation of the same API with the same results, used when the extension is not importable, or
when SHENGLIANG_NO_C_EXTENSION=1 is set when this module is first imported (read here only, once).
Every transform imports these names from here, never from either implementation.

IMPLEMENTATION is "c" or "python": which one this process runs.
"""

from __future__ import annotations

import os

__all__ = [
    "IMPLEMENTATION",
    "NO_C_EXTENSION_ENV",
    "Dictionary",
    "Normalizer",
    "lookup_entries",
    "scan",
    "sentiment_pass",
    "tally_terms",
]

NO_C_EXTENSION_ENV = "SHENGLIANG_NO_C_EXTENSION"

if os.environ.get(NO_C_EXTENSION_ENV, "").strip().lower() in ("1", "true", "yes"):
    from transforms import _pyfastseg as _implementation

    IMPLEMENTATION = "python"
else:
    try:
        from transforms import _fastseg as _implementation  # type: ignore[attr-defined, no-redef]

        IMPLEMENTATION = "c"
    except ImportError:  # not built: no C compiler where the package was installed
        from transforms import _pyfastseg as _implementation  # type: ignore[no-redef]

        IMPLEMENTATION = "python"

Dictionary = _implementation.Dictionary
Normalizer = _implementation.Normalizer
lookup_entries = _implementation.lookup_entries
scan = _implementation.scan
sentiment_pass = _implementation.sentiment_pass
tally_terms = _implementation.tally_terms
