"""Designer-format XML of 1C:Enterprise metadata objects (format version 2.11, platform 8.3.18+).

Element names, their order and the namespaces follow real Designer dumps: the test fixtures of
1c-syntax/mdclasses (``src/test/resources/ext/designer/mdclasses_3_18``, version 2.11) and the extension
of ValentinKozlov/1c-s3connector (``src/cfe``). Properties a dump would carry with their default values
are written as such dumps write them; nothing here was loaded into a platform.

Every function returns the text of one file; ``ids`` derives the stable UUIDs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any
from xml.sax.saxutils import escape

VERSION = "2.11"
_NAMESPACE = uuid.UUID("6b1f3c1e-16a4-4e0c-9a55-1c0e1f5a7d11")

MD_NAMESPACES = (
    'xmlns="http://v8.1c.ru/8.3/MDClasses" xmlns:app="http://v8.1c.ru/8.2/managed-application/core" '
    'xmlns:cfg="http://v8.1c.ru/8.1/data/enterprise/current-config" '
    'xmlns:cmi="http://v8.1c.ru/8.2/managed-application/cmi" xmlns:ent="http://v8.1c.ru/8.1/data/enterprise" '
    'xmlns:lf="http://v8.1c.ru/8.2/managed-application/logform" '
    'xmlns:style="http://v8.1c.ru/8.1/data/ui/style" '
    'xmlns:sys="http://v8.1c.ru/8.1/data/ui/fonts/system" xmlns:v8="http://v8.1c.ru/8.1/data/core" '
    'xmlns:v8ui="http://v8.1c.ru/8.1/data/ui" xmlns:web="http://v8.1c.ru/8.1/data/ui/colors/web" '
    'xmlns:win="http://v8.1c.ru/8.1/data/ui/colors/windows" xmlns:xen="http://v8.1c.ru/8.3/xcf/enums" '
    'xmlns:xpr="http://v8.1c.ru/8.3/xcf/predef" xmlns:xr="http://v8.1c.ru/8.3/xcf/readable" '
    'xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
)
HEADER = '\ufeff<?xml version="1.0" encoding="UTF-8"?>\n'

# The classes a Configuration object contains, as every Designer dump lists them (fixed identifiers).
CONFIGURATION_CLASSES = (
    "9cd510cd-abfc-11d4-9434-004095e12fc7",
    "9fcd25a0-4822-11d4-9414-008048da11f9",
    "e3687481-0a87-462c-a166-9f34594f9bba",
    "9de14907-ec23-4a07-96f0-85521cb6b53b",
    "51f2d5d8-ea4d-4064-8892-82951750031e",
    "e68182ea-4237-4383-967f-90c1e3370bc7",
    "fb282519-d103-4dd3-bc12-cb271d631dfc",
)


def ids(*parts: str) -> str:
    """A UUID that depends only on ``parts`` (an object's full name and a purpose)."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


def x(text: str) -> str:
    return escape(text, {'"': "&quot;"})


def document(kind: str, uid: str, body: str) -> str:
    return (
        f'{HEADER}<MetaDataObject {MD_NAMESPACES} version="{VERSION}">\n'
        f'\t<{kind} uuid="{uid}">\n{body}\t</{kind}>\n</MetaDataObject>'
    )


def indent(lines: Iterable[str], depth: int) -> str:
    pad = "\t" * depth
    return "".join(f"{pad}{line}\n" for line in lines)


def localized(tag: str, text: str) -> list[str]:
    if not text:
        return [f"<{tag}/>"]
    return [
        f"<{tag}>",
        "\t<v8:item>",
        "\t\t<v8:lang>ru</v8:lang>",
        f"\t\t<v8:content>{x(text)}</v8:content>",
        "\t</v8:item>",
        f"</{tag}>",
    ]


def type_lines(spec: Mapping[str, Any], prefix: str, cfg_prefix: str = "cfg:") -> list[str]:
    """A ``<Type>`` element for a description's attribute: string, number, datetime, boolean, ref, table."""
    kind = spec["type"]
    if kind == "string":
        return [
            "<Type>",
            "\t<v8:Type>xs:string</v8:Type>",
            "\t<v8:StringQualifiers>",
            f"\t\t<v8:Length>{spec.get('length', 0)}</v8:Length>",
            "\t\t<v8:AllowedLength>Variable</v8:AllowedLength>",
            "\t</v8:StringQualifiers>",
            "</Type>",
        ]
    if kind == "number":
        return [
            "<Type>",
            "\t<v8:Type>xs:decimal</v8:Type>",
            "\t<v8:NumberQualifiers>",
            f"\t\t<v8:Digits>{spec['digits']}</v8:Digits>",
            f"\t\t<v8:FractionDigits>{spec['fraction']}</v8:FractionDigits>",
            "\t\t<v8:AllowedSign>Any</v8:AllowedSign>",
            "\t</v8:NumberQualifiers>",
            "</Type>",
        ]
    if kind == "datetime":
        return [
            "<Type>",
            "\t<v8:Type>xs:dateTime</v8:Type>",
            "\t<v8:DateQualifiers>",
            "\t\t<v8:DateFractions>DateTime</v8:DateFractions>",
            "\t</v8:DateQualifiers>",
            "</Type>",
        ]
    if kind == "boolean":
        return ["<Type>", "\t<v8:Type>xs:boolean</v8:Type>", "</Type>"]
    if kind == "ref":
        cls, name = spec["ref"].split(".", 1)
        return ["<Type>", f"\t<v8:Type>{cfg_prefix}{cls}Ref.{prefix}{name}</v8:Type>", "</Type>"]
    if kind == "table":
        return ["<Type>", "\t<v8:Type>v8:ValueTable</v8:Type>", "</Type>"]
    raise ValueError(f"unknown type {kind!r}")


def fill_value(spec: Mapping[str, Any]) -> str:
    kind = spec["type"]
    if kind == "string":
        return '<FillValue xsi:type="xs:string"/>'
    if kind == "number":
        return '<FillValue xsi:type="xs:decimal">0</FillValue>'
    if kind == "datetime":
        return '<FillValue xsi:type="xs:dateTime">0001-01-01T00:00:00</FillValue>'
    return '<FillValue xsi:nil="true"/>'


def value_properties(spec: Mapping[str, Any], *, password: bool = False) -> list[str]:
    """The input properties shared by attributes and constants, in the dumps' order."""
    return [
        f"<PasswordMode>{'true' if password else 'false'}</PasswordMode>",
        "<Format/>",
        "<EditFormat/>",
        "<ToolTip/>",
        "<MarkNegatives>false</MarkNegatives>",
        "<Mask/>",
        f"<MultiLine>{'true' if _unlimited(spec) else 'false'}</MultiLine>",
        "<ExtendedEdit>false</ExtendedEdit>",
        '<MinValue xsi:nil="true"/>',
        '<MaxValue xsi:nil="true"/>',
    ]


def _unlimited(spec: Mapping[str, Any]) -> bool:
    return bool(spec["type"] == "string" and spec.get("length", 0) == 0)


def attribute(owner: str, spec: Mapping[str, Any], prefix: str, *, in_tabular: bool = False) -> list[str]:
    name = spec["name"]
    lines = [
        "<Name>" + x(name) + "</Name>",
        *localized("Synonym", spec.get("synonym", "")),
        "<Comment/>",
        *type_lines(spec, prefix),
        *value_properties(spec),
    ]
    if not in_tabular:
        lines += ["<FillFromFillingValue>false</FillFromFillingValue>", fill_value(spec)]
    lines += [
        "<FillChecking>DontCheck</FillChecking>",
        "<ChoiceFoldersAndItems>Items</ChoiceFoldersAndItems>",
        "<ChoiceParameterLinks/>",
        "<ChoiceParameters/>",
        "<QuickChoice>Auto</QuickChoice>",
        "<CreateOnInput>Auto</CreateOnInput>",
        "<ChoiceForm/>",
        "<LinkByType/>",
        "<ChoiceHistoryOnInput>Auto</ChoiceHistoryOnInput>",
    ]
    if not in_tabular:
        lines.append("<Use>ForItem</Use>")
    lines += ["<Indexing>DontIndex</Indexing>", "<FullTextSearch>Use</FullTextSearch>"]
    if not in_tabular:
        lines.append("<DataHistory>Use</DataHistory>")
    uid = ids(owner, "Attribute", name)
    return [
        f'<Attribute uuid="{uid}">',
        "\t<Properties>",
        *["\t\t" + ln for ln in lines],
        "\t</Properties>",
        "</Attribute>",
    ]


def generated_types(full: str, kinds: Iterable[tuple[str, str]]) -> list[str]:
    """``<InternalInfo>`` with one ``xr:GeneratedType`` per (type name prefix, category)."""
    name = full.split(".", 1)[1]
    lines = ["<InternalInfo>"]
    for type_prefix, category in kinds:
        lines += [
            f'\t<xr:GeneratedType name="{type_prefix}.{x(name)}" category="{category}">',
            f"\t\t<xr:TypeId>{ids(full, type_prefix, 'TypeId')}</xr:TypeId>",
            f"\t\t<xr:ValueId>{ids(full, type_prefix, 'ValueId')}</xr:ValueId>",
            "\t</xr:GeneratedType>",
        ]
    return [*lines, "</InternalInfo>"]
