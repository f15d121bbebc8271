"""Request bodies built byte for byte the way 1C:Enterprise code writes them.

``ЗаписьДанных.ЗаписатьСтроку(Строка, КодировкаТекста.UTF8)`` writes the string's UTF-8 bytes followed by
the writer's line separator (LF unless the writer was created with another, or with "" for none); a
writer created with ``ЗаписыватьBOM`` puts a UTF-8 BOM first. ``Символы.ПС`` is LF, ``Символы.ВК`` is CR.
"""

from __future__ import annotations

import json
from urllib.parse import quote

LF = "\n"
CRLF = "\r\n"
BOM = b"\xef\xbb\xbf"


class DataWriter:
    """A model of 1C's ЗаписьДанных over ПотокВПамяти, enough to build request bodies."""

    def __init__(self, *, separator: str = LF, bom: bool = False) -> None:
        self.separator = separator
        self.bytes = bytearray(BOM if bom else b"")

    def write_line(self, text: str) -> None:  # ЗаписатьСтроку
        self.bytes += (text + self.separator).encode("utf-8")

    def write(self, data: bytes) -> None:  # Записать(ДвоичныеДанные)
        self.bytes += data

    def close(self) -> bytes:  # ЗакрытьИПолучитьДвоичныеДанные
        return bytes(self.bytes)


def seed_draft_multipart(
    data: bytes, filename: str, boundary: str, mime: str, *, separator: str = LF, bom: bool = False
) -> bytes:
    """The seed's «Загрузить» procedure, with the quote escape fixed so that it compiles (""),
    as it runs on a real ЗаписьДанных: LF-only line breaks, plus the writer's own separator."""
    writer = DataWriter(separator=separator, bom=bom)
    writer.write_line(
        "--" + boundary + LF
        + 'Content-Disposition: form-data; name="file"; filename="' + filename + '"' + LF
        + "Content-Type: " + mime + LF + LF
    )  # fmt: skip
    writer.write(data)
    writer.write_line(LF + "--" + boundary + "--" + LF)
    return writer.close()


def kit_multipart(data: bytes, filename: str, boundary: str) -> bytes:
    """Our kit's ЗагрузитьФайлMultipart: ЗаписьДанных(Поток, UTF8, LittleEndian, "", "", Ложь) with explicit
    CRLF, the raw UTF-8 name plus RFC 5987 ``filename*``, and an octet-stream part (docs/1c.md)."""
    writer = DataWriter(separator="", bom=False)
    writer.write_line("--" + boundary + CRLF)
    writer.write_line(
        'Content-Disposition: form-data; name="file"; filename="' + filename + '"; '
        + "filename*=UTF-8''" + url_name(filename) + CRLF
    )  # fmt: skip
    writer.write_line("Content-Type: application/octet-stream" + CRLF + CRLF)
    writer.write(data)
    writer.write_line(CRLF + "--" + boundary + "--" + CRLF)
    return writer.close()


def url_name(name: str) -> str:
    """КодироватьСтроку(Имя, СпособКодированияСтроки.КодировкаURL): UTF-8 percent-encoding."""
    return quote(name, safe="")


def json_body(value: dict[str, object], *, bom: bool) -> bytes:
    """ЗаписатьJSON with default settings (CRLF, tab indents), then УстановитьТелоИзСтроки(Тело, UTF8),
    which writes a BOM unless ИспользованиеByteOrderMark.НеИспользовать is passed (the seed's draft does
    not pass it; our kit does, and sends no BOM)."""
    text = json.dumps(value, ensure_ascii=False, indent="\t").replace("\n", CRLF)
    return (BOM if bom else b"") + text.encode("utf-8")
