"""The hot-path wrappers in use: the compiled ones (hotc.c) when the extension is built, else hot_generated's.

Both write the same records byte for byte (tests/test_record_hot.py runs the recorder's guarantees on
each). The compiled wrappers are a CPython extension built by the package install (setup.py, optional:
without a compiler the install goes on and the Python wrappers are used). `IPCTRACE_PURE_PYTHON=1` in
the environment chooses the Python wrappers (tests and the benchmark compare the two).
"""

from __future__ import annotations

import ipctrace.record.core as core
import ipctrace.record.hot_generated as generated
import ipctrace.record.layout as L
from ipctrace.record.endpoints import TABLE, endpoint
from ipctrace.record.heads import receive_entry, send_entry
from ipctrace.record.hotpath import SPECS
from ipctrace.record.log import HOTC, TLS, ThreadLog

TYPE_CHECKING = False  # typing is not imported at run time: every traced process would pay for it
if TYPE_CHECKING:
    from typing import Any

#: Are the compiled wrappers the ones in use? (mapping.py chose, for the log's base goes with them.)
COMPILED = HOTC is not None
FLAGGED = generated.FLAGGED

#: What the compiled wrappers share with the generated ones (each wrapper keeps these very objects).
_SHARED = (TLS, ThreadLog, TABLE, endpoint, send_entry, receive_entry, generated._failed, core.problem, core.FAILED)
_CHOSEN: dict[str, Any] = {}
for _slot, (_name, _kind, _orig, _call, _what, _parts) in enumerate(SPECS):
    _python = getattr(generated, _name)
    _CHOSEN[_name] = _python
    if HOTC is not None:
        _original = getattr(generated, f"_orig_{_name}")
        _problem = f"could not record {_what}"
        try:
            _CHOSEN[_name] = HOTC.Wrapper(_name, L.CALL_IDS[_call], _slot, _original, _python, _problem, _SHARED)
        except ValueError:  # a wrapper new in hotpath.SPECS that hotc.c does not have yet (a test says so)
            pass

os_write = _CHOSEN["os_write"]
os_read = _CHOSEN["os_read"]
socket_send = _CHOSEN["socket_send"]
socket_sendall = _CHOSEN["socket_sendall"]
socket_recv = _CHOSEN["socket_recv"]
socket_recv_into = _CHOSEN["socket_recv_into"]
file_write = _CHOSEN["file_write"]
file_readinto = _CHOSEN["file_readinto"]
file_read = _CHOSEN["file_read"]
