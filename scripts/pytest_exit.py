"""Run pytest and exit with its status, skipping interpreter teardown.

A process that ran a Temporal runtime can abort while the interpreter shuts down
(PyGILState_Release, exit 134) after every test passed; os._exit keeps pytest's verdict."""

from __future__ import annotations

import os
import sys

import pytest

if __name__ == "__main__":
    code = pytest.main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(int(code))
