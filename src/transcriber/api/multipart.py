"""Streaming multipart/form-data parsing, tolerant of the LF-only bodies 1C code copied from the seed sends.

Standard bodies (CRLF line breaks, RFC 2046) go to python-multipart unchanged. Only a body whose first
boundary line ends with a bare LF is read by :class:`LfMultipartParser`, which accepts exactly what the
seed's draft produces through 1C's ``ЗаписьДанных.ЗаписатьСтроку``:

    --B\\n                                 boundary line, LF only
    Content-Disposition: ...\\n            headers, LF only
    Content-Type: audio/mpeg\\n
    \\n                                    end of headers
    [\\n]                                  ЗаписатьСтроку's own separator (its default is LF), if any
    <file bytes>\\n--B--\\n[\\n]             closing delimiter (+ the separator again)

The optional separator after the headers is the one place where bytes are dropped: an audio file never
begins with a line break, and this is only done for LF-only bodies, never for standard ones.
"""

from __future__ import annotations

from typing import Any, Protocol

from python_multipart import MultipartParser
from python_multipart.multipart import DEFAULT_MAX_HEADER_COUNT, DEFAULT_MAX_HEADER_SIZE, parse_options_header

from transcriber.errors import BadRequest

# The LF-only parser enforces python-multipart's own limits on the standard path, plus a part count.
MAX_HEADER_BYTES = DEFAULT_MAX_HEADER_SIZE  # one header line of a part (4 KiB + 128)
MAX_HEADERS = DEFAULT_MAX_HEADER_COUNT  # header lines of one part (8)
MAX_PARTS = 64  # parts of one body (the upload needs one, 1C's forms send a few)
BOM = b"\xef\xbb\xbf"


class _PartLimits:
    """The same limits on both parsers: a header line's size, headers per part, parts per body."""

    def __init__(self) -> None:
        self.parts = 0
        self.headers = 0

    def part(self) -> None:
        self.parts += 1
        self.headers = 0
        if self.parts > MAX_PARTS:
            raise BadRequest(f"malformed multipart body: more than {MAX_PARTS} parts")

    def header(self, size: int) -> None:
        self.headers += 1
        if self.headers > MAX_HEADERS:
            raise BadRequest(f"malformed multipart body: a part has more than {MAX_HEADERS} headers")
        self.line(size)

    @staticmethod
    def line(size: int) -> None:
        if size > MAX_HEADER_BYTES:
            raise BadRequest("malformed multipart body: part headers are too long")


class PartSink(Protocol):
    """Receives parts as they stream in."""

    def start_part(self, headers: dict[str, bytes]) -> None: ...

    def part_data(self, data: bytes) -> None: ...

    def end_part(self) -> None: ...


def boundary_of(content_type: str) -> bytes:
    kind, params = parse_options_header(content_type)
    if kind != b"multipart/form-data" or not params.get(b"boundary"):
        raise BadRequest(
            "send the file as multipart/form-data with a field named 'file' "
            f"(got Content-Type {content_type or 'none'!r}); or send the bare file to /api/v1/upload_raw"
        )
    boundary: bytes = params[b"boundary"]
    if len(boundary) > 200:
        raise BadRequest("the multipart boundary is longer than 200 characters")
    return boundary


class _StandardAdapter:
    """python-multipart callbacks turned into :class:`PartSink` calls."""

    def __init__(self, sink: PartSink) -> None:
        self.sink = sink
        self.parts_ended = 0
        self._name = b""
        self._value = b""
        self._headers: dict[str, bytes] = {}
        self._limits = _PartLimits()

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self._begin,
            "on_header_field": self._field,
            "on_header_value": self._value_cb,
            "on_header_end": self._header_end,
            "on_headers_finished": lambda: self.sink.start_part(self._headers),
            "on_part_data": lambda data, start, end: self.sink.part_data(data[start:end]),
            "on_part_end": self._end,
        }

    def _begin(self) -> None:
        self._limits.part()
        self._headers = {}

    def _field(self, data: bytes, start: int, end: int) -> None:
        self._name += data[start:end]  # python-multipart bounds header lines and counts itself

    def _value_cb(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._name.strip().lower().decode("latin-1")] = self._value.strip()
        self._name = b""
        self._value = b""

    def _end(self) -> None:
        self.parts_ended += 1
        self.sink.end_part()


class LfMultipartParser:
    """A streaming parser for multipart bodies whose line breaks are bare LF (see the module docstring)."""

    def __init__(self, boundary: bytes, sink: PartSink) -> None:
        self.sink = sink
        self.opening = b"--" + boundary + b"\n"
        self.delimiter = b"\n--" + boundary
        # Unparsed bytes are ``buffer[pos:]``: steps advance ``pos`` and the buffer is compacted once per
        # chunk, so a body of many short lines costs linear time (slicing per line was quadratic).
        self.buffer = b""
        self.pos = 0
        self.state = "start"
        self.headers: dict[str, bytes] = {}
        self.complete = False
        self._limits = _PartLimits()

    def write(self, chunk: bytes) -> None:
        if self.state == "end":
            return  # whatever follows the closing delimiter is ignored, not kept
        self.buffer = self.buffer[self.pos :] + chunk
        self.pos = 0
        while self._step():
            pass

    @property
    def _rest(self) -> bytes:
        return self.buffer[self.pos :]

    def _startswith(self, prefix: bytes) -> bool:
        return self.buffer.startswith(prefix, self.pos)

    def _available(self) -> int:
        return len(self.buffer) - self.pos

    def _step(self) -> bool:
        """Advance as far as the buffer allows; True if another step may make progress."""
        if self.state == "start":
            if self._available() < len(self.opening):
                return False
            if not self._startswith(self.opening):
                raise BadRequest("malformed multipart body: it does not start with the boundary")
            self.pos += len(self.opening)
            self._begin_part()
            return True
        if self.state == "headers":
            return self._read_header_line()
        if self.state == "separator":
            if self._startswith(b"\n"):
                self.pos += 1
            elif self._startswith(b"\r\n"):
                self.pos += 2
            elif self._available() == 0 or self._rest == b"\r":
                return False
            self.state = "data"
            return True
        if self.state == "data":
            return self._read_data()
        if self.state == "after_delimiter":
            return self._after_delimiter()
        return False  # "end": whatever follows the closing delimiter is ignored

    def _begin_part(self) -> None:
        self._limits.part()
        self.state = "headers"
        self.headers = {}

    def _read_header_line(self) -> bool:
        end = self.buffer.find(b"\n", self.pos)
        if end < 0:
            _PartLimits.line(self._available())
            return False
        line = self.buffer[self.pos : end].rstrip(b"\r")
        self.pos = end + 1
        if line:
            self._limits.header(len(line))
            name, sep, value = line.partition(b":")
            if not sep:
                raise BadRequest("malformed multipart body: a part header has no ':'")
            self.headers[name.strip().lower().decode("latin-1")] = value.strip()
            return True
        self.sink.start_part(self.headers)
        self.state = "separator"
        return True

    def _read_data(self) -> bool:
        found = self.buffer.find(self.delimiter, self.pos)
        if found >= 0:
            if found > self.pos:
                self.sink.part_data(self.buffer[self.pos : found])
            self.pos = found + len(self.delimiter)
            self.sink.end_part()
            self.state = "after_delimiter"
            return True
        keep = len(self.delimiter) - 1
        if self._available() > keep:
            cut = len(self.buffer) - keep
            self.sink.part_data(self.buffer[self.pos : cut])
            self.pos = cut
        return False

    def _after_delimiter(self) -> bool:
        if self._available() < 2:
            return False
        if self._startswith(b"--"):
            self.state = "end"
            self.complete = True
            self.buffer, self.pos = b"", 0
            return False
        for line_end in (b"\n", b"\r\n"):
            if self._startswith(line_end):
                self.pos += len(line_end)
                self._begin_part()
                return True
        raise BadRequest("malformed multipart body: unexpected bytes after a boundary")

    def finalize(self) -> None:
        if not self.complete:
            raise BadRequest("malformed multipart body: it ends before the closing boundary")


class FormParser:
    """Streams a multipart body into a :class:`PartSink`, choosing the parser from the first line."""

    def __init__(self, boundary: bytes, sink: PartSink) -> None:
        self.boundary = boundary
        self.sink = sink
        self._head = b""
        self._lf: LfMultipartParser | None = None
        self._standard: MultipartParser | None = None
        self._adapter: _StandardAdapter | None = None

    def write(self, chunk: bytes) -> None:
        if self._lf is not None:
            self._lf.write(chunk)
        elif self._standard is not None:
            self._standard.write(chunk)
        else:
            self._head += chunk
            if len(self._head) >= len(BOM) + len(self.boundary) + 4:
                self._decide()

    def _decide(self) -> None:
        head, self._head = self._head, b""
        if head.startswith(BOM):  # a 1C ЗаписьДанных created with ЗаписыватьBOM writes one first
            head = head[len(BOM) :]
        if head.startswith(b"--" + self.boundary + b"\n"):
            self._lf = LfMultipartParser(self.boundary, self.sink)
            self._lf.write(head)
        else:
            self._adapter = _StandardAdapter(self.sink)
            self._standard = MultipartParser(self.boundary, self._adapter.callbacks())  # type: ignore[arg-type]
            self._standard.write(head)

    def finalize(self) -> None:
        if self._head:  # the whole body was shorter than the detection window
            self._decide()
        if self._lf is not None:
            self._lf.finalize()
        elif self._standard is not None and self._adapter is not None:
            self._standard.finalize()
            if self._adapter.parts_ended == 0:
                raise BadRequest("malformed multipart body: no complete part")
        else:
            raise BadRequest("the request body is empty; send multipart/form-data with a field named 'file'")
