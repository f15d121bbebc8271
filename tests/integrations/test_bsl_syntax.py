"""The 1C kit in integrations/1c: every .bsl file parses with tree-sitter-bsl, the checker catches broken
code, and the kit keeps clear of the seed draft's mistakes (checked on the syntax tree, not on text)."""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import tree_sitter

ROOT = Path(__file__).resolve().parents[2]
KIT = ROOT / "integrations" / "1c"
EXTENSION = KIT / "extension"
COMMON_MODULE = EXTENSION / "CommonModules" / "рр_РаспознаваниеРечи" / "Ext" / "Module.bsl"
FORM_MODULE = (
    EXTENSION
    / "DataProcessors"
    / "рр_РаспознаваниеРечи"
    / "Forms"
    / "ФормаРаспознавания"
    / "Ext"
    / "Form"
    / "Module.bsl"
)


def _load_checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_bsl", ROOT / "scripts" / "check_bsl.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("check_bsl", module)
    spec.loader.exec_module(module)
    return module


check_bsl = _load_checker()


def write(tmp_path: Path, text: str, name: str = "Модуль.bsl") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- the repository's files ---


def test_kit_files_parse_without_errors() -> None:
    files, problems = check_bsl.check_paths([ROOT / "integrations"])
    assert len(files) >= 2, files
    assert [str(p) for p in problems] == []


def test_kit_has_the_common_module_and_the_form_module() -> None:
    files = set(check_bsl.bsl_files([KIT]))
    assert COMMON_MODULE in files
    assert FORM_MODULE in files
    assert KIT / "Форма.ФормаРаспознавания.Асинх.bsl" in files


def test_kit_files_are_utf8_with_bom() -> None:
    # Like Designer and EDT dumps: the Configurator and Notepad recognise UTF-8 by the BOM.
    for path in check_bsl.bsl_files([KIT]):
        data = path.read_bytes()
        assert data.startswith(b"\xef\xbb\xbf"), path.name
        data.decode("utf-8")


def test_main_passes_on_the_repository(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_bsl.main([]) == 0
    out = capsys.readouterr().out
    assert re.search(r"check_bsl: \d+ files checked, 0 errors", out)


# --- the checker catches broken code ---

SEED_LINE = (
    '\tСтрока = "--" + Граница + Символы.ПС\n'
    '\t\t+ "Content-Disposition: form-data; name=\\"file\\"; filename=\\"" + Имя + "\\"" + Символы.ПС;\n'
)


def test_seed_backslash_quote_escape_is_an_error(tmp_path: Path) -> None:
    # The seed's draft escapes quotes as \" (C style); BSL doubles them: "".
    path = write(tmp_path, "Процедура Загрузить()\n" + SEED_LINE + "КонецПроцедуры\n")
    problems = check_bsl.check_file(path)
    assert problems
    assert {p.line for p in problems} == {3}


def test_the_same_line_with_doubled_quotes_is_fine(tmp_path: Path) -> None:
    fixed = SEED_LINE.replace('\\"', '""')
    path = write(tmp_path, "Процедура Загрузить()\n" + fixed + "КонецПроцедуры\n")
    assert check_bsl.check_file(path) == []


def test_missing_end_of_procedure_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "&НаКлиенте\nПроцедура Опрос()\n\tСтатус = 1;\n")
    assert check_bsl.check_file(path)


def test_missing_end_of_if_is_an_error(tmp_path: Path) -> None:
    text = "Функция Ф(А)\n\tЕсли А Тогда\n\t\tВозврат 1;\n\tВозврат 0;\nКонецФункции\n"
    assert check_bsl.check_file(write(tmp_path, text))


def test_column_counts_characters_not_bytes(tmp_path: Path) -> None:
    path = write(tmp_path, 'Процедура П()\n\tТекст = "привет \\"мир\\"";\nКонецПроцедуры\n')
    first = check_bsl.check_file(path)[0]
    assert (first.line, first.column) == (2, 20)  # the "м" right after the \" escape


def test_bom_and_crlf_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "Модуль.bsl"
    path.write_bytes(b"\xef\xbb\xbf" + "Процедура П()\r\n\tА = 1;\r\nКонецПроцедуры\r\n".encode())
    assert check_bsl.check_file(path) == []


def test_invalid_utf8_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "Модуль.bsl"
    path.write_bytes("Процедура П()\n".encode() + '\tА = "Привет";\n'.encode("cp1251") + b"\n")
    assert [p.message for p in check_bsl.check_file(path)] == ["the file is not valid UTF-8"]


def test_main_prints_file_line_col_and_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "Процедура Хорошая()\nКонецПроцедуры\n", "Хороший.bsl")
    write(tmp_path, "Процедура Загрузить()\n" + SEED_LINE + "КонецПроцедуры\n", "Черновик.bsl")
    assert check_bsl.main([str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert re.search(r"Черновик\.bsl:3:\d+: error: ", out), out
    assert "Хороший.bsl:" not in out
    assert "check_bsl: 2 files checked" in out


def test_main_fails_when_there_is_nothing_to_check(tmp_path: Path) -> None:
    assert check_bsl.main([str(tmp_path)]) == 1


# --- the kit avoids the seed draft's mistakes ---


def _tree(path: Path) -> tuple[tree_sitter.Node, bytes]:
    source = path.read_bytes().removeprefix(b"\xef\xbb\xbf")
    return check_bsl.new_parser().parse(source).root_node, source


def _text(node: tree_sitter.Node, source: bytes) -> str:
    return source[node.start_byte : node.end_byte].decode()


def _descendants(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(current.children)


def _names(node: tree_sitter.Node, source: bytes) -> set[str]:
    """Identifiers and properties used in code (comments and strings are not looked at)."""
    return {_text(n, source) for n in _descendants(node) if n.type in ("identifier", "property")}


def _methods(root: tree_sitter.Node, source: bytes) -> Iterator[tuple[str, str, tree_sitter.Node]]:
    """(compilation directive, name, node) of every procedure and function."""
    directive = ""
    for child in root.children:
        if child.type == "preprocessor" and any(c.type == "annotation" for c in child.children):
            directive = _text(child, source).strip()
        elif child.type in ("procedure_definition", "function_definition"):
            name = child.child_by_field_name("name")
            assert name is not None
            yield directive, _text(name, source), child
            directive = ""


def _argument_count(arguments: tree_sitter.Node) -> int:
    """Positional arguments, counting skipped ones: f(a, , c) has 3."""
    commas = sum(1 for c in arguments.children if c.type == ",")
    return commas + 1 if any(c.is_named or c.type == "," for c in arguments.children) else 0


def _calls(node: tree_sitter.Node, source: bytes) -> Iterator[tuple[str, str]]:
    """(name, argument list text) of method calls and of Новый expressions (``Новый Массив`` has "")."""
    for n in _descendants(node):
        if n.type == "method_call":
            name, args = n.child_by_field_name("name"), n.child_by_field_name("arguments")
        elif n.type == "new_expression":
            name, args = n.child_by_field_name("type"), n.child_by_field_name("arguments")
        else:
            continue
        if name is not None:
            yield _text(name, source), "" if args is None else _text(args, source)


def _argument_count(arguments: str) -> int:
    """Positional arguments in "(...)", counting skipped ones: (a, , c) has 3. Good enough for
    argument lists whose arguments contain no commas of their own."""
    return arguments.count(",") + 1 if arguments.strip("() ") or "," in arguments else 0


KIT_FILES = check_bsl.bsl_files([KIT])  # the whole tree, extension included
KIT_IDS = [p.relative_to(KIT).as_posix() for p in KIT_FILES]


FORBIDDEN_CALLS = {
    "ЗаписьДвоичныхДанных": "not a 1C 8.3 type: ЗаписьДанных over ПотокВПамяти",
    "УстановитьТелоСтрокой": "not a method: HTTPЗапрос.УстановитьТелоИзСтроки",
    "СтрокаВJSON": "not a platform function: ЗаписьJSON + ЗаписатьJSON",
    "Отправить": "not a method: HTTPСоединение.ОтправитьДляОбработки / Получить",
    "ПоместитьФайл": "modal",
    "ПолучитьФайл": "modal",
    "Предупреждение": "modal: СообщениеПользователю / ПоказатьПредупреждение",
    "Вопрос": "modal",
}


SERVER_ONLY = {"Справочники", "HTTPСоединение", "HTTPЗапрос", "ДвоичныеДанные", "ПолучитьОбъект"}
CLIENT_DIRECTIVES = ("&НаКлиенте", "&НаКлиентеНаСервереБезКонтекста")


def seed_mistakes(path: Path) -> list[str]:
    """Calls the seed's draft made that do not exist in 1C 8.3 or are modal; ЭлементыФормы."""
    root, source = _tree(path)
    called = {name for name, _ in _calls(root, source)}
    found = [f"{name}: {FORBIDDEN_CALLS[name]}" for name in sorted(called & FORBIDDEN_CALLS.keys())]
    if "ЭлементыФормы" in _names(root, source):
        found.append("ЭлементыФормы: ordinary forms only; poll with ПодключитьОбработчикОжидания")
    return found


def server_work_on_the_client(path: Path) -> list[str]:
    """Client methods that use HTTP, catalog objects or read files into ДвоичныеДанные."""
    root, source = _tree(path)
    return [
        f"{name}: {', '.join(sorted(used))}"
        for directive, name, method in _methods(root, source)
        if directive in CLIENT_DIRECTIVES and (used := _names(method, source) & SERVER_ONLY)
    ]


@pytest.mark.parametrize("path", KIT_FILES, ids=KIT_IDS)
def test_kit_has_none_of_the_seed_drafts_calls(path: Path) -> None:
    assert seed_mistakes(path) == []


@pytest.mark.parametrize("path", KIT_FILES, ids=KIT_IDS)
def test_kit_client_code_does_no_http_and_touches_no_catalog_objects(path: Path) -> None:
    assert server_work_on_the_client(path) == []


SEED_CLIENT_CODE = """\
&НаКлиенте
Процедура Загрузить(Команда)
	Ауд = Справочники.Аудиофайлы.СоздатьЭлемент();
	Поток = Новый ЗаписьДвоичныхДанных;
	Двоич = Новый ДвоичныеДанные(ПутьКФайлу);
	Ответ = Соед.Отправить(Запрос);
	ЭлементыФормы.Таймер.Включить();
КонецПроцедуры

&НаСервереБезКонтекста
Функция НаСервере()
	Возврат Справочники.Аудиофайлы.СоздатьЭлемент();
КонецФункции
"""


def test_the_structural_checks_catch_the_seed_drafts_client_code(tmp_path: Path) -> None:
    path = write(tmp_path, SEED_CLIENT_CODE)
    assert check_bsl.check_file(path) == []
    assert [m.split(":")[0] for m in seed_mistakes(path)] == [
        "ЗаписьДвоичныхДанных",
        "Отправить",
        "ЭлементыФормы",
    ]
    assert server_work_on_the_client(path) == ["Загрузить: ДвоичныеДанные, Справочники"]


def test_http_connections_have_a_timeout_and_json_is_read_into_a_map() -> None:
    root, source = _tree(COMMON_MODULE)
    calls = [(name, args.replace(" ", "")) for name, args in _calls(root, source)]

    connections = [args for name, args in calls if name == "HTTPСоединение"]
    assert connections
    for args in connections:  # Сервер, Порт, Пользователь, Пароль, Прокси, Таймаут, ЗащищенноеСоединение
        assert _argument_count(args) == 7, args
        assert ",,,Таймаут," in args, args

    reads = [args for name, args in calls if name == "ПрочитатьJSON"]
    assert reads
    assert all(args.endswith(",Истина)") for args in reads), reads  # objects become Соответствие

    for name, args in calls:
        if name == "ПолучитьТелоКакСтроку":
            assert args == "(КодировкаТекста.UTF8)"
        if name == "УстановитьТелоИзСтроки":
            assert args.endswith(",КодировкаТекста.UTF8,ИспользованиеByteOrderMark.НеИспользовать)"), args
        if name == "ЗаписьДанных":  # no line separator of its own, no BOM
            assert args.endswith(',КодировкаТекста.UTF8,ПорядокБайтов.LittleEndian,"","",Ложь)'), args


def test_the_form_polls_with_an_idle_handler_and_stops_on_every_final_status() -> None:
    root, source = _tree(FORM_MODULE)
    calls = {name for name, _ in _calls(root, source)}
    assert {"ПодключитьОбработчикОжидания", "ОтключитьОбработчикОжидания"} <= calls
    assert "НачатьПомещениеФайлаНаСервер" in calls
    strings = {_text(n, source) for n in _descendants(root) if n.type == "string"}
    for status in ("PENDING", "IN_PROGRESS", "COMPLETED", "FAILED", "CANCELLED"):
        assert f'"{status}"' in strings, status


# --- issue 16: the form cannot choose where the 1C server connects, and the upload runs in the background ---

SERVER_CALL_MODULE = EXTENSION / "CommonModules" / "рр_РаспознаваниеРечиВызовСервера" / "Ext" / "Module.bsl"
# What a client must never hand to the server: where to connect, with which key, which file to send.
CLIENT_MUST_NOT_NAME = {"Настройки", "АдресAPI", "КлючAPI", "Подключение", "ПутьКФайлу", "Таймаут"}


def _exported(path: Path) -> list[tuple[str, tree_sitter.Node, bytes]]:
    root, source = _tree(path)
    return [
        (name, node, source)
        for _directive, name, node in _methods(root, source)
        if any(c.type == "EXPORT_KEYWORD" for c in node.children)
    ]


def _parameters(node: tree_sitter.Node, source: bytes) -> set[str]:
    parameters = next(c for c in node.children if c.type == "parameters")
    return {_text(n, source) for n in _descendants(parameters) if n.type == "identifier"}


def _statements(node: tree_sitter.Node) -> list[tree_sitter.Node]:
    return [c for c in node.children if c.type.endswith("_statement")]


def test_the_server_call_module_takes_no_address_key_or_path_and_checks_the_right_first() -> None:
    exported = _exported(SERVER_CALL_MODULE)
    assert {name for name, _, _ in exported} >= {
        "НачатьРаспознавание",
        "СостояниеРаспознавания",
        "ОбновитьСтатус",
        "ОтменитьЗадачу",
        "ФайлРезультата",
        "ПроверитьСоединение",
    }
    for name, node, source in exported:
        assert not _parameters(node, source) & CLIENT_MUST_NOT_NAME, name
        first = _statements(node)[0]
        assert _text(first, source) == "ПроверитьПравоИспользования();", name


def test_the_form_has_no_field_for_the_address_or_the_key_and_calls_only_the_server_call_module() -> None:
    root, source = _tree(FORM_MODULE)
    names = _names(root, source)
    assert not names & {"АдресAPI", "КлючAPI", "Таймаут", "ПараметрыПодключения"}
    assert "рр_РаспознаваниеРечиВызовСервера" in names
    assert "рр_РаспознаваниеРечи" not in names  # the server module is not reachable from here
    methods = _methods(root, source)
    server_methods = [name for directive, name, _ in methods if directive not in CLIENT_DIRECTIVES]
    assert server_methods == ["ПриСозданииНаСервере"]  # no server function taking parameters from the client


def test_the_settings_come_from_the_constants_in_privileged_mode() -> None:
    root, source = _tree(COMMON_MODULE)
    method = next(node for _, name, node in _methods(root, source) if name == "НастройкиПодключения")
    body = [_text(s, source) for s in _statements(method)]
    assert body[0] == "УстановитьПривилегированныйРежим(Истина);"
    assert any("Константы.рр_АдресСервисаРаспознавания.Получить()" in line for line in body)
    assert any("Константы.рр_КлючAPIСервисаРаспознавания.Получить()" in line for line in body)
    assert body.index("УстановитьПривилегированныйРежим(Ложь);") < len(body) - 1  # off before it returns


def test_the_form_sends_the_file_from_a_background_job_without_copies() -> None:
    root, source = _tree(COMMON_MODULE)
    methods = {name: node for _, name, node in _methods(root, source)}
    start = _text(methods["НачатьРаспознаваниеВФоне"], source)
    job = re.search(r'"рр_РаспознаваниеРечи\.(\w+)"', _text(methods["ИмяМетодаФоновогоЗадания"], source))
    assert job is not None
    assert "ФоновыеЗадания.Выполнить(ИмяМетодаФоновогоЗадания()" in start
    assert job.group(1) in {name for name, _, _ in _exported(COMMON_MODULE)}  # a job runs an exported method
    upload = _text(methods["ЗагрузитьИзВременногоХранилища"], source)
    assert "Описание.Тело = ДанныеФайла;" in upload  # the temporary storage's own ДвоичныеДанные
    assert "ТаймаутЗагрузкиФайла(Настройки, ДанныеФайла.Размер())" in upload  # the timeout follows the size
    called = {name for name, _ in _calls(root, source)}
    assert not called & {"ПолучитьИмяВременногоФайла", "ПотокВПамяти", "ЗакрытьИПолучитьДвоичныеДанные"}
    assert {"ПолучитьТелоКакПоток", "КопироватьВ"} <= called  # multipart streams the file from disk
