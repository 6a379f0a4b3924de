"""The data docs' file store: great-expectations' own, with two changes the release needs.

GE builds the docs index from `list_keys`, which walks the folder in filesystem order, so the page order of the
index changed from one disk to the next; here the keys are sorted. GE also logs a write it could not do (a
full disk) as a page of traceback and carries on; here the first such error is kept, and the gate raises it
after the build (validation.gate._Validator.build_docs), once, as one sentence.

Imported by GE itself (the site's `module_name`), so importing it loads GE: only the gate names it.
"""

from __future__ import annotations

import os

from great_expectations.data_context.store.tuple_store_backend import TupleFilesystemStoreBackend

# The write errors of the build in progress (reset by the gate before each build).
FAILED_WRITES: list[OSError] = []


class SortedFilesystemStoreBackend(TupleFilesystemStoreBackend):
    def list_keys(self, prefix: tuple = ()) -> list[tuple]:
        return sorted(super().list_keys(prefix))

    def _set(self, key, value, **kwargs):
        try:
            return super()._set(key, value, **kwargs)
        except OSError as exc:
            if exc.filename is None:  # name the page it could not write
                path = os.path.join(self.full_base_directory, self._convert_key_to_filepath(key))
                exc = OSError(exc.errno, exc.strerror, path)
            FAILED_WRITES.append(exc)
            raise exc from None
