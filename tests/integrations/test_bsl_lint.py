"""The 1C kit passes the BSL linter onec-hbk-bsl-core (``onec-hbk-bsl check``) with a short list of
ignored rules, each with its reason, and never reports BSL001 (parse error), BSL167 (a server-call
common module) or BSL262 (errors not logged in full).

The linter needs Python 3.12 and lives in its own venv, ``.venv-bsl``, made by ``scripts/bsl-tools.sh``
(``./test.sh`` runs it first). Without that venv the tests fail with the command to run; where the venv
cannot exist (``test.ps1`` on Windows has no twin of the script) set ``BSL_LINT=skip``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KIT = ROOT / "integrations" / "1c"
LINTER = ROOT / ".venv-bsl" / ("Scripts/onec-hbk-bsl.exe" if sys.platform == "win32" else "bin/onec-hbk-bsl")

# Never accepted, whatever the list below says.
FORBIDDEN = {
    "BSL001": "the linter's parser could not read the module",
    "BSL167": "a server-call module not named ...ВызовСервера (std469); only рр_...ВызовСервера is one",
    "BSL262": "a handler must log ПодробноеПредставлениеОшибки(ИнформацияОбОшибке()) as Ошибка",
}

IGNORED = {
    # Conventions the kit deliberately does not follow.
    "BSL029": "MagicNumber: HTTP codes, ports and timeouts read better as numbers than as named constants",
    "BSL014": "LineLength: a user message in НСтр stays one literal on one line, whole for a translator",
    "BSL065": "MissingReturnedValueDescription: private helpers carry a one-line comment, not std453 blocks",
    "BSL215": "MissingParameterDescription: the same, for parameters of private helpers",
    "BSL251": "TernaryOperatorUsage: ?(...) for one-line defaults is clearer than a five-line Если",
    "BSL225": "NumberOfValuesInStructureConstructor: result structures are built in one visible line",
    "BSL224": "NestedFunctionInParameters: the HTTP body lines are written as the contract test models them",
    "BSL035": 'DuplicateStringLiteral: the format string "ЧГ=0" is clearer inline than as a constant',
    "BSL199": "IfElseIfEndsWithElse: an ИначеЕсли chain without Иначе means «otherwise nothing»",
    "BSL255": "TryNumber: Число() inside Попытка is the only way to check a port without БСП",
    "BSL192": "FunctionNameStartsWithGet: ПолучитьСтатус/ПолучитьРезультат name the service's GET endpoints",
    "BSL208": "LatinAndCyrillicSymbolInWord: НовыйHTTPЗапрос follows the platform's HTTPЗапрос, ЧтениеJSON",
    "BSL256": "Typo: the dictionary does not know the kit's domain words (Транскрибации, таймкоды)",
    # Compatibility: the kit supports 8.3.13+ (НачатьПомещениеФайлаНаСервер).
    "BSL176": "DeprecatedMethodCall: ОбработкаОшибок.* is 8.3.17+; the global functions still work",
    "BSL178": "DeprecatedMethods8317: the same rule, reported a second time",
    # Reviewed: these mark calls for a security review, and each call is the kit's purpose.
    "BSL188": "FileSystemAccess: ЗагрузитьФайл* read a file that server code names (never the client)",
    "BSL203": "InternetAccess: the kit's job is HTTP to the transcription service",
    "BSL247": "PrivilegedModeSet: НастройкиПодключения reads the address/key constants, on which the user"
    " role has no right (the fix of the form's SSRF), and switches privileged mode off on the next line",
    # The form's handlers are bound in the form's XML, which the linter does not read.
    "BSL062": "UnusedParameters: event and command handlers keep the platform's signatures (Отказ, Команда)",
    # Guard clauses, where early returns read better than nesting.
    "BSL008": "TooManyReturns: ВыполнитьЗапрос and the webhook checks (ОбработатьУведомление,"
    " ПодписьУведомленияВерна) return at each failed step, each with its own answer",
}

# While a module sits at a flat path (Форма.X.bsl) instead of the Designer layout
# (.../Forms/X/Ext/Form/Module.bsl), the linter cannot tell its type and takes the form module for a
# common or command module: form attributes look like undeclared variables, handlers bound in the form's
# XML look unused, and &НаКлиенте looks superfluous. These rules count only for files in the layout.
NEEDS_DESIGNER_LAYOUT = {"BSL007", "BSL017", "BSL042", "BSL170"}


@dataclass(frozen=True)
class Finding:
    path: Path
    line: int
    code: str
    message: str

    def __str__(self) -> str:
        message = " ".join(self.message.split())
        return f"{self.path.relative_to(ROOT)}:{self.line}: {self.code} {message}"


def kit_files() -> list[Path]:
    """Every .bsl file under integrations/1c, at whatever depth (the extension's Designer tree)."""
    return sorted(p for p in KIT.rglob("*.bsl") if p.is_file())


def in_designer_layout(path: Path) -> bool:
    return "Ext" in path.relative_to(KIT).parts


def lint(paths: list[Path]) -> list[Finding]:
    if not LINTER.exists():
        how = "run scripts/bsl-tools.sh (it makes .venv-bsl with Python 3.12), or BSL_LINT=skip to skip"
        if os.environ.get("BSL_LINT") == "skip":
            pytest.skip(f"the BSL linter is not installed: {how}")
        pytest.fail(f"the BSL linter is not installed: {how}", pytrace=False)
    # --no-config: the rules are the linter's defaults, the exceptions are the lists above.
    command = [str(LINTER), "check", "--no-config", "--format", "json", "--jobs", "1", *map(str, paths)]
    done = subprocess.run(command, capture_output=True, text=True, encoding="utf-8", timeout=240, check=False)
    assert done.returncode in (0, 1), done.stderr  # 1: there are findings
    return [
        Finding(Path(item["file"]).resolve(), int(item["line"]), str(item["code"]), str(item["message"]))
        for item in json.loads(done.stdout or "[]")
    ]


@pytest.fixture(scope="module")
def findings() -> list[Finding]:
    files = kit_files()
    assert files, f"no .bsl files under {KIT}"
    return lint(files)


def test_the_lists_are_disjoint_and_justified() -> None:
    assert not FORBIDDEN.keys() & IGNORED.keys()
    assert not NEEDS_DESIGNER_LAYOUT & IGNORED.keys()
    assert all(reason.strip() for reason in IGNORED.values())


def test_the_kit_has_no_forbidden_findings(findings: list[Finding]) -> None:
    assert [str(f) for f in findings if f.code in FORBIDDEN] == []


def test_the_kit_has_no_findings_outside_the_ignore_list(findings: list[Finding]) -> None:
    def counts(finding: Finding) -> bool:
        if finding.code in IGNORED:
            return False
        return finding.code not in NEEDS_DESIGNER_LAYOUT or in_designer_layout(finding.path)

    assert [str(f) for f in findings if counts(f)] == []


def test_every_ignored_rule_is_still_reported(findings: list[Finding]) -> None:
    # An exception the kit no longer needs is dropped from the list, so the list stays short and true.
    assert sorted(IGNORED.keys() - {f.code for f in findings}) == []


def test_the_linter_finds_what_it_is_trusted_to_find(tmp_path: Path) -> None:
    # The list above is only worth something if the linter really reports these on this machine.
    module = tmp_path / "CommonModules" / "Проба" / "Ext" / "Module.bsl"
    module.parent.mkdir(parents=True)
    module.write_text(
        "Процедура Проба() Экспорт\n"
        "\tИмя = ПолучитьИмяВременногоФайла();\n"
        "\tПопытка\n"
        "\t\tА = 1;\n"
        "\tИсключение\n"
        '\t\tЗаписьЖурналаРегистрации("Проба", УровеньЖурналаРегистрации.Ошибка, , , ОписаниеОшибки());\n'
        "\tКонецПопытки;\n"
        "КонецПроцедуры\n",
        encoding="utf-8-sig",
    )
    codes = Counter(f.code for f in lint([module]))
    assert codes["BSL262"] == 1, codes
    assert codes["BSL218"] == 1, codes


COMMON_MODULE_XML = """\
<?xml version="1.0" encoding="UTF-8"?>
<MetaDataObject xmlns="http://v8.1c.ru/8.3/MDClasses" version="2.11">
\t<CommonModule uuid="0b1a8a57-4c7e-4d2b-9f64-3c1d2e5f6a70">
\t\t<Properties>
\t\t\t<Name>Проба</Name>
\t\t\t<Global>false</Global>
\t\t\t<ClientManagedApplication>false</ClientManagedApplication>
\t\t\t<Server>true</Server>
\t\t\t<ExternalConnection>false</ExternalConnection>
\t\t\t<ClientOrdinaryApplication>false</ClientOrdinaryApplication>
\t\t\t<ServerCall>{server_call}</ServerCall>
\t\t\t<Privileged>false</Privileged>
\t\t</Properties>
\t</CommonModule>
</MetaDataObject>
"""


@pytest.mark.parametrize("server_call", [True, False])
def test_the_linter_reads_a_common_modules_flags_from_its_xml(tmp_path: Path, server_call: bool) -> None:
    # BSL167 comes from CommonModules/<name>.xml beside the module's folder (the Designer layout), so
    # "no BSL167" means something once the extension's XML is there.
    module = tmp_path / "CommonModules" / "Проба" / "Ext" / "Module.bsl"
    module.parent.mkdir(parents=True)
    module.write_text(
        "#Область ПрограммныйИнтерфейс\nПроцедура П() Экспорт\nКонецПроцедуры\n#КонецОбласти\n",
        encoding="utf-8",
    )
    xml = COMMON_MODULE_XML.format(server_call=str(server_call).lower())
    (tmp_path / "CommonModules" / "Проба.xml").write_text(xml, encoding="utf-8")
    codes = {f.code for f in lint([module])}
    assert ("BSL167" in codes) == server_call, codes
