"""Form.xml of a managed form (Designer format 2.11) from the description's attributes, commands and items.

Only element kinds seen in real Designer dumps are used: input and label fields, usual groups, buttons
and a value-table field with its search/view additions. Element ids are numbered in document order, so
the same description always gives the same file.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from onec_metadata import HEADER, VERSION, localized, type_lines, x

Spec = Mapping[str, Any]

FORM_NAMESPACES = (
    'xmlns="http://v8.1c.ru/8.3/xcf/logform" xmlns:app="http://v8.1c.ru/8.2/managed-application/core" '
    'xmlns:cfg="http://v8.1c.ru/8.1/data/enterprise/current-config" '
    'xmlns:dcscor="http://v8.1c.ru/8.1/data-composition-system/core" '
    'xmlns:dcssch="http://v8.1c.ru/8.1/data-composition-system/schema" '
    'xmlns:dcsset="http://v8.1c.ru/8.1/data-composition-system/settings" '
    'xmlns:ent="http://v8.1c.ru/8.1/data/enterprise" '
    'xmlns:lf="http://v8.1c.ru/8.2/managed-application/logform" '
    'xmlns:style="http://v8.1c.ru/8.1/data/ui/style" xmlns:sys="http://v8.1c.ru/8.1/data/ui/fonts/system" '
    'xmlns:v8="http://v8.1c.ru/8.1/data/core" xmlns:v8ui="http://v8.1c.ru/8.1/data/ui" '
    'xmlns:web="http://v8.1c.ru/8.1/data/ui/colors/web" '
    'xmlns:win="http://v8.1c.ru/8.1/data/ui/colors/windows" '
    'xmlns:xr="http://v8.1c.ru/8.3/xcf/readable" xmlns:xs="http://www.w3.org/2001/XMLSchema" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
)

FIELD_KINDS = {"input", "readonly", "password", "choice", "progress", "label"}
BUTTON_KINDS = {"button", "default_button"}


class _Ids:
    def __init__(self) -> None:
        self.last = 0

    def next(self) -> int:
        self.last += 1
        return self.last


def form_xml(spec: Spec, object_type: str, prefix: str) -> str:
    """The whole Form.xml; ``object_type`` is e.g. ``DataProcessorObject.рр_РаспознаваниеРечи``."""
    counter = _Ids()
    body = ['\t<AutoCommandBar name="ФормаКоманднаяПанель" id="-1"/>']
    events = spec.get("events", [])
    if events:
        body.append("\t<Events>")
        body += [f'\t\t<Event name="{e["event"]}">{x(e["handler"])}</Event>' for e in events]
        body.append("\t</Events>")
    body.append("\t<ChildItems>")
    for item in spec.get("items", []):
        body += ["\t\t" + ln for ln in _item(item, counter, table=None)]
    body.append("\t</ChildItems>")
    body += ["\t" + ln for ln in _attributes(spec, object_type, prefix)]
    body += ["\t" + ln for ln in _commands(spec)]
    return f'{HEADER}<Form {FORM_NAMESPACES} version="{VERSION}">\n' + "\n".join(body) + "\n</Form>"


def _companions(name: str, counter: _Ids) -> list[str]:
    return [
        f'<ContextMenu name="{x(name)}КонтекстноеМеню" id="{counter.next()}"/>',
        f'<ExtendedTooltip name="{x(name)}РасширеннаяПодсказка" id="{counter.next()}"/>',
    ]


def _item(item: Spec, counter: _Ids, table: str | None) -> list[str]:
    name, kind = item["name"], item["kind"]
    element = f"{table}{name}" if table else name
    path = f"{table}.{name}" if table else name
    if kind == "group":
        lines = [f'<UsualGroup name="{x(name)}" id="{counter.next()}">']
        lines += ["\t" + ln for ln in localized("Title", item.get("title", ""))]
        lines += [
            "\t<Group>Horizontal</Group>",
            "\t<Behavior>Usual</Behavior>",
            "\t<Representation>None</Representation>",
            "\t<ShowTitle>false</ShowTitle>",
            f'\t<ExtendedTooltip name="{x(name)}РасширеннаяПодсказка" id="{counter.next()}"/>',
            "\t<ChildItems>",
        ]
        for child in item.get("children", []):
            lines += ["\t\t" + ln for ln in _item(child, counter, table)]
        return [*lines, "\t</ChildItems>", "</UsualGroup>"]
    if kind in BUTTON_KINDS:
        lines = [f'<Button name="{x(name)}" id="{counter.next()}">', "\t<Type>UsualButton</Type>"]
        if kind == "default_button":
            lines.append("\t<DefaultButton>true</DefaultButton>")
        lines += [
            f"\t<CommandName>Form.Command.{x(name)}</CommandName>",
            f'\t<ExtendedTooltip name="{x(name)}РасширеннаяПодсказка" id="{counter.next()}"/>',
            "</Button>",
        ]
        return lines
    if kind == "table":
        return _table(item, counter)
    if kind not in FIELD_KINDS:
        raise ValueError(f"unknown form item kind {kind!r} ({name})")
    tag = "LabelField" if kind == "label" else "InputField"
    lines = [f'<{tag} name="{x(element)}" id="{counter.next()}">', f"\t<DataPath>{x(path)}</DataPath>"]
    if kind in {"readonly", "progress"}:
        lines.append("\t<ReadOnly>true</ReadOnly>")
    if tag == "InputField":
        lines.append("\t<EditMode>EnterOnInput</EditMode>")
    if kind == "choice":
        lines.append("\t<ListChoiceMode>true</ListChoiceMode>")
    lines += ["\t" + ln for ln in _companions(element, counter)]
    if "on_change" in item:  # after the companions, as Designer writes it
        lines += ["\t<Events>", f'\t\t<Event name="OnChange">{x(item["on_change"])}</Event>', "\t</Events>"]
    return [*lines, f"</{tag}>"]


def _table(item: Spec, counter: _Ids) -> list[str]:
    name = item["name"]
    lines = [
        f'<Table name="{x(name)}" id="{counter.next()}">',
        "\t<Representation>List</Representation>",
        "\t<ReadOnly>true</ReadOnly>",
        "\t<ChangeRowSet>false</ChangeRowSet>",
        "\t<ChangeRowOrder>false</ChangeRowOrder>",
        f"\t<DataPath>{x(name)}</DataPath>",
        '\t<RowFilter xsi:nil="true"/>',
        f'\t<ContextMenu name="{x(name)}КонтекстноеМеню" id="{counter.next()}"/>',
        f'\t<AutoCommandBar name="{x(name)}КоманднаяПанель" id="{counter.next()}"/>',
        f'\t<ExtendedTooltip name="{x(name)}РасширеннаяПодсказка" id="{counter.next()}"/>',
    ]
    for tag, suffix, kind in (
        ("SearchStringAddition", "СтрокаПоиска", "SearchStringRepresentation"),
        ("ViewStatusAddition", "СостояниеПросмотра", "ViewStatusRepresentation"),
        ("SearchControlAddition", "УправлениеПоиском", "SearchControl"),
    ):
        addition = f"{name}{suffix}"
        lines += [
            f'\t<{tag} name="{x(addition)}" id="{counter.next()}">',
            "\t\t<AdditionSource>",
            f"\t\t\t<Item>{x(name)}</Item>",
            f"\t\t\t<Type>{kind}</Type>",
            "\t\t</AdditionSource>",
            *["\t\t" + ln for ln in _companions(addition, counter)],
            f"\t</{tag}>",
        ]
    lines.append("\t<ChildItems>")
    for column in item.get("children", []):
        lines += ["\t\t" + ln for ln in _item(column, counter, table=name)]
    return [*lines, "\t</ChildItems>", "</Table>"]


def _attributes(spec: Spec, object_type: str, prefix: str) -> list[str]:
    lines = [
        "<Attributes>",
        '\t<Attribute name="Объект" id="1">',
        "\t\t<Type>",
        f"\t\t\t<v8:Type>cfg:{x(object_type)}</v8:Type>",
        "\t\t</Type>",
        "\t\t<MainAttribute>true</MainAttribute>",
        "\t</Attribute>",
    ]
    for number, attr in enumerate(spec.get("attributes", []), start=2):
        lines.append(f'\t<Attribute name="{x(attr["name"])}" id="{number}">')
        lines += ["\t\t" + ln for ln in localized("Title", attr.get("title", ""))]
        lines += ["\t\t" + ln for ln in type_lines(attr, prefix)]
        columns = attr.get("columns", [])
        if columns:
            lines.append("\t\t<Columns>")
            for col_number, col in enumerate(columns, start=1):
                lines.append(f'\t\t\t<Column name="{x(col["name"])}" id="{col_number}">')
                lines += ["\t\t\t\t" + ln for ln in localized("Title", col.get("title", ""))]
                lines += ["\t\t\t\t" + ln for ln in type_lines(col, prefix)]
                lines.append("\t\t\t</Column>")
            lines.append("\t\t</Columns>")
        lines.append("\t</Attribute>")
    return [*lines, "</Attributes>"]


def _commands(spec: Spec) -> list[str]:
    lines = ["<Commands>"]
    for number, cmd in enumerate(spec.get("commands", []), start=1):
        lines.append(f'\t<Command name="{x(cmd["name"])}" id="{number}">')
        lines += ["\t\t" + ln for ln in localized("Title", cmd.get("title", ""))]
        lines.append(f"\t\t<Action>{x(cmd.get('action', cmd['name']))}</Action>")
        lines.append("\t</Command>")
    return [*lines, "</Commands>"]


def data_paths(items: Sequence[Spec], table: str | None = None) -> Iterator[str]:
    """Every attribute path the items show (for the structural tests)."""
    for item in items:
        if item["kind"] == "group":
            yield from data_paths(item.get("children", []), table)
        elif item["kind"] == "table":
            yield item["name"]
            yield from data_paths(item.get("children", []), item["name"])
        elif item["kind"] in FIELD_KINDS:
            yield f"{table}.{item['name']}" if table else item["name"]
