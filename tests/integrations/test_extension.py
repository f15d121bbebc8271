"""The configuration extension in integrations/1c/extension: structural checks of its Designer XML.

No 1C platform runs here. These tests prove the dump is self-consistent (well-formed, one format
version, every object listed and present, unique UUIDs, references that resolve, modules in place)
and that it is exactly what scripts/onec_extension.py writes; not that Designer loads it.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
KIT = ROOT / "integrations" / "1c"
EXTENSION = KIT / "extension"
MD = "{http://v8.1c.ru/8.3/MDClasses}"
ROLES = "{http://v8.1c.ru/8.2/roles}"
LOGFORM = "{http://v8.1c.ru/8.3/xcf/logform}"
V8 = "{http://v8.1c.ru/8.1/data/core}"

FOLDERS = {
    "Language": "Languages",
    "Role": "Roles",
    "CommonModule": "CommonModules",
    "HTTPService": "HTTPServices",
    "ScheduledJob": "ScheduledJobs",
    "Constant": "Constants",
    "Catalog": "Catalogs",
    "DataProcessor": "DataProcessors",
}


def _load_generator() -> ModuleType:
    sys.path.insert(0, str(ROOT / "scripts"))
    spec = importlib.util.spec_from_file_location("onec_extension", ROOT / "scripts" / "onec_extension.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("onec_extension", module)
    spec.loader.exec_module(module)
    return module


onec_extension = _load_generator()
XML_FILES = sorted(EXTENSION.rglob("*.xml"))
DESCRIPTION = onec_extension.load()
PREFIX = DESCRIPTION["extension"]["prefix"]


def _root(path: Path) -> ET.Element:
    return ET.parse(path).getroot()


def _configuration() -> ET.Element:
    conf = _root(EXTENSION / "Configuration.xml").find(f"{MD}Configuration")
    assert conf is not None
    return conf


def _children() -> list[tuple[str, str]]:
    child_objects = _configuration().find(f"{MD}ChildObjects")
    assert child_objects is not None
    return [(el.tag.removeprefix(MD), el.text or "") for el in child_objects]


def _object_names() -> set[str]:
    return {f"{cls}.{name}" for cls, name in _children()}


def test_every_xml_file_is_well_formed_with_the_one_format_version() -> None:
    assert len(XML_FILES) >= 15
    for path in XML_FILES:
        data = path.read_bytes()
        assert data.startswith(b"\xef\xbb\xbf<?xml"), path  # UTF-8 with BOM, like Designer
        root = _root(path)
        assert root.get("version") == "2.11", path
        assert set(re.findall(rb'version="(\d+\.\d+)"', data.split(b"?>", 1)[1])) == {b"2.11"}, path


def test_configuration_is_an_add_on_extension_with_a_name_prefix() -> None:
    props = _configuration().find(f"{MD}Properties")
    assert props is not None
    assert props.findtext(f"{MD}Name") == "РаспознаваниеРечи"
    assert props.findtext(f"{MD}ConfigurationExtensionPurpose") == "AddOn"
    assert props.findtext(f"{MD}NamePrefix") == PREFIX == "рр_"
    assert props.findtext(f"{MD}ConfigurationExtensionCompatibilityMode") == "Version8_3_18"


def test_own_objects_carry_the_prefix() -> None:
    for cls, name in _children():
        if cls != "Language":  # adopted from the extended configuration
            assert name.startswith(PREFIX), (cls, name)


def test_every_listed_object_has_its_file_and_every_object_file_is_listed() -> None:
    listed = {(EXTENSION / FOLDERS[cls] / f"{name}.xml") for cls, name in _children()}
    top_level = {p for p in XML_FILES if p.parent.parent == EXTENSION}
    assert listed == top_level
    for cls, name in _children():
        element = _root(EXTENSION / FOLDERS[cls] / f"{name}.xml")[0]
        assert element.tag == MD + cls
        assert element.findtext(f"{MD}Properties/{MD}Name") == name


def test_the_expected_objects_are_there() -> None:
    assert _object_names() >= {
        "Catalog.рр_Аудиофайлы",
        "Catalog.рр_Транскрибации",
        "CommonModule.рр_РаспознаваниеРечи",
        "CommonModule.рр_РаспознаваниеРечиВызовСервера",
        "DataProcessor.рр_РаспознаваниеРечи",
        "Role.рр_ИспользованиеРаспознаванияРечи",
        "Role.рр_НастройкаРаспознаванияРечи",
        "ScheduledJob.рр_ЗавершениеРаспознаваний",
        "Constant.рр_АдресСервисаРаспознавания",
        "Constant.рр_КлючAPIСервисаРаспознавания",
        "HTTPService.рр_РаспознаваниеРечи",
    }


def test_uuids_are_unique() -> None:
    seen: dict[str, Path] = {}
    for path in XML_FILES:
        text = path.read_text(encoding="utf-8-sig")
        for value in re.findall(
            r'uuid="([0-9a-f-]{36})"|<xr:(?:TypeId|ValueId|ObjectId)>([0-9a-f-]{36})<', text
        ):
            uid = value[0] or value[1]
            assert uid not in seen, (uid, path, seen.get(uid))
            seen[uid] = path
    assert len(seen) > 50


def test_common_modules_are_server_side_and_only_the_server_call_module_is_callable() -> None:
    for name, server_call in (
        ("рр_РаспознаваниеРечи", "false"),
        ("рр_РаспознаваниеРечиВызовСервера", "true"),
    ):
        props = _root(EXTENSION / "CommonModules" / f"{name}.xml").find(f"{MD}CommonModule/{MD}Properties")
        assert props is not None
        assert props.findtext(f"{MD}Server") == "true"
        assert props.findtext(f"{MD}ServerCall") == server_call
        assert props.findtext(f"{MD}ClientManagedApplication") == "false"
        assert props.findtext(f"{MD}Global") == "false"


def test_the_phrases_tabular_part_has_a_speaker() -> None:
    catalog = _root(EXTENSION / "Catalogs" / "рр_Транскрибации.xml")
    names = [el.text for el in catalog.iter(f"{MD}Name")]
    tabular = catalog.find(f".//{MD}TabularSection")
    assert tabular is not None
    assert tabular.findtext(f"{MD}Properties/{MD}Name") == "Фразы"
    columns = [el.findtext(f"{MD}Properties/{MD}Name") for el in tabular.iter(f"{MD}Attribute")]
    assert columns == ["Начало", "Конец", "Текст", "Спикер"]
    assert {"Аудиофайл", "TaskID", "Статус", "ПолныйТекст"} <= set(names)


def test_reference_types_resolve_to_objects_of_the_extension() -> None:
    refs = set()
    for path in XML_FILES:
        refs |= set(re.findall(r"cfg:(\w+)Ref\.(\w+)<", path.read_text(encoding="utf-8-sig")))
    assert ("Catalog", "рр_Аудиофайлы") in refs
    for cls, name in refs:
        assert f"{cls}.{name}" in _object_names(), (cls, name)


def test_roles_name_objects_of_the_extension_and_users_cannot_change_the_settings() -> None:
    granted: dict[str, dict[str, set[str]]] = {}
    for role in (n for c, n in _children() if c == "Role"):
        rights = _root(EXTENSION / "Roles" / role / "Ext" / "Rights.xml")
        assert rights.findtext(f"{ROLES}setForNewObjects") == "false"
        for obj in rights.iter(f"{ROLES}object"):
            name = obj.findtext(f"{ROLES}name") or ""
            assert name in _object_names(), (role, name)
            values = {
                r.findtext(f"{ROLES}name") or ""
                for r in obj.iter(f"{ROLES}right")
                if r.findtext(f"{ROLES}value") == "true"
            }
            granted.setdefault(role, {})[name] = values
    user = granted["рр_ИспользованиеРаспознаванияРечи"]
    assert {"Read", "Insert", "Update"} <= user["Catalog.рр_Транскрибации"]
    assert "Use" in user["DataProcessor.рр_РаспознаваниеРечи"]
    assert not [name for name in user if name.startswith("Constant.")]
    admin = granted["рр_НастройкаРаспознаванияРечи"]
    assert "Update" in admin["Constant.рр_КлючAPIСервисаРаспознавания"]
    assert _configuration().find(f"{MD}Properties/{MD}DefaultRoles/*") is None  # given to nobody by default


def test_the_scheduled_job_method_is_in_a_server_module_of_the_extension() -> None:
    job = _root(EXTENSION / "ScheduledJobs" / "рр_ЗавершениеРаспознаваний.xml")
    method = job.findtext(f"{MD}ScheduledJob/{MD}Properties/{MD}MethodName") or ""
    cls, module, procedure = method.split(".")
    assert f"{cls}.{module}" in _object_names()
    assert (EXTENSION / "CommonModules" / module / "Ext" / "Module.bsl").is_file()
    assert procedure == "ЗавершитьРаспознавания"


def test_the_scheduled_job_procedure_is_exported_by_the_module() -> None:
    text = (EXTENSION / "CommonModules" / "рр_РаспознаваниеРечи" / "Ext" / "Module.bsl").read_text(
        encoding="utf-8-sig"
    )
    assert re.search(r"^Процедура\s+ЗавершитьРаспознавания\s*\(\s*\)\s+Экспорт", text, re.MULTILINE)


def test_every_module_an_object_needs_exists() -> None:
    tree = onec_extension.build(DESCRIPTION)
    assert "CommonModules/рр_РаспознаваниеРечи/Ext/Module.bsl" in tree.modules
    for rel in tree.modules:
        assert (EXTENSION / rel).is_file(), rel


def test_the_http_service_handlers_are_functions_of_its_module() -> None:
    service = _root(EXTENSION / "HTTPServices" / "рр_РаспознаваниеРечи.xml")
    module = (EXTENSION / "HTTPServices" / "рр_РаспознаваниеРечи" / "Ext" / "Module.bsl").read_text(
        encoding="utf-8-sig"
    )
    handlers = [el.text for el in service.iter(f"{MD}Handler")]
    assert handlers == ["ВебхукPOST"]
    for handler in handlers:
        assert re.search(rf"^Функция\s+{handler}\s*\(", module, re.MULTILINE), handler


def test_the_form_has_what_its_module_uses() -> None:
    form = _root(
        EXTENSION
        / "DataProcessors"
        / "рр_РаспознаваниеРечи"
        / "Forms"
        / "ФормаРаспознавания"
        / "Ext"
        / "Form.xml"
    )
    module = (
        EXTENSION
        / "DataProcessors"
        / "рр_РаспознаваниеРечи"
        / "Forms"
        / "ФормаРаспознавания"
        / "Ext"
        / "Form"
        / "Module.bsl"
    ).read_text(encoding="utf-8-sig")
    attributes = {el.get("name") for el in form.findall(f"{LOGFORM}Attributes/{LOGFORM}Attribute")}
    commands = {el.get("name"): el.findtext(f"{LOGFORM}Action") for el in form.iter(f"{LOGFORM}Command")}
    items = {el.get("name") for el in form.iter() if el.get("name")}
    procedures = set(re.findall(r"^(?:Асинх\s+)?(?:Процедура|Функция)\s+(\w+)", module, re.MULTILINE))

    for name in set(re.findall(r"Элементы\.(\w+)", module)):
        assert name in items, name
    for action in commands.values():
        assert action in procedures, action
    for event in form.iter(f"{LOGFORM}Event"):
        assert event.text in procedures, event.text
    assert {"Объект", "TaskID", "Фразы", "ФорматЭкспорта", "СсылкаТранск"} <= attributes
    main = form.find(f"{LOGFORM}Attributes/{LOGFORM}Attribute[@name='Объект']/{LOGFORM}Type/{V8}Type")
    assert main is not None
    assert main.text == "cfg:DataProcessorObject.рр_РаспознаваниеРечи"
    # Every data path shown on the form is an attribute (or a column of one).
    for path in {el.text for el in form.iter(f"{LOGFORM}DataPath")}:
        assert (path or "").split(".")[0] in attributes, path
    # Every button's command is a form command.
    for name in {el.text for el in form.iter(f"{LOGFORM}CommandName")}:
        assert (name or "").removeprefix("Form.Command.") in commands, name


def test_check_passes_on_the_repository(capsys: pytest.CaptureFixture[str]) -> None:
    assert onec_extension.main(["--check"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_generation_is_deterministic() -> None:
    assert onec_extension.build(DESCRIPTION).xml == onec_extension.build(onec_extension.load()).xml


@pytest.mark.parametrize("tamper", ["edit", "delete", "stale"])
def test_check_fails_on_a_tampered_copy(
    tmp_path: Path, tamper: str, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "extension"
    shutil.copytree(EXTENSION, copy)
    catalog = copy / "Catalogs" / "рр_Аудиофайлы.xml"
    if tamper == "edit":
        catalog.write_bytes(catalog.read_bytes().replace(b"<v8:Length>250<", b"<v8:Length>251<"))
    elif tamper == "delete":
        catalog.unlink()
    else:
        (copy / "Catalogs" / "Лишний.xml").write_bytes(catalog.read_bytes())
    assert onec_extension.main(["--check", "--target", str(copy)]) == 1
    assert {"edit": "differs", "delete": "missing", "stale": "stale"}[tamper] in capsys.readouterr().out
    # Writing repairs the copy and leaves the modules as they were.
    module = copy / "CommonModules" / "рр_РаспознаваниеРечи" / "Ext" / "Module.bsl"
    before = module.read_bytes()
    assert onec_extension.main(["--target", str(copy)]) == 0
    assert onec_extension.main(["--check", "--target", str(copy)]) == 0
    assert module.read_bytes() == before


def _module_references() -> set[str]:
    """Catalogs, constants and common modules the extension's modules name, as ``Class.Name``."""
    found = set()
    for path in EXTENSION.rglob("*.bsl"):
        text = path.read_text(encoding="utf-8-sig")
        found |= {f"Catalog.{n}" for n in re.findall(r"\bСправочники\.(\w+)", text)}
        found |= {f"Constant.{n}" for n in re.findall(r"\bКонстанты\.(\w+)", text)}
        found |= {
            f"CommonModule.{n}" for n in re.findall(r"(?<![\w.])((?:рр_)?РаспознаваниеРечи\w*)\.\w+\(", text)
        }
    return found


def test_the_modules_name_the_objects_of_the_extension() -> None:
    references = _module_references()
    assert "Catalog.Аудиофайлы" in references or "Catalog.рр_Аудиофайлы" in references
    assert references <= _object_names(), sorted(references - _object_names())
