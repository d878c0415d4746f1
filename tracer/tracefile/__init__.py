"""The trace file: one JSON object per line, read into and written from the data model.

Line types: one `header` first, then `process`, `event` and `packet` lines.
Events keep the recorder's field names (`res`, `err`, `ep`, base64 `data`), so
a raw recorder line plus `type` and `seq` is a valid trace line.
Reading is `reader` (with `decode`, JSON into the model), writing is `writer`.
"""

from __future__ import annotations

from ipctrace.tracefile.decode import EventDecoder, addr_from_json, endpoint_from_json, event_from_json, read_raw_events
from ipctrace.tracefile.reader import TraceFileError, read_trace
from ipctrace.tracefile.writer import addr_to_json, event_to_json, trace_lines, write_trace

__all__ = [
    "EventDecoder",
    "TraceFileError",
    "addr_from_json",
    "addr_to_json",
    "endpoint_from_json",
    "event_from_json",
    "event_to_json",
    "read_raw_events",
    "read_trace",
    "trace_lines",
    "write_trace",
]
