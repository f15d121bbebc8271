"""Write the Designer XML dump of the 1C configuration extension described in integrations/1c/extension.toml.

    python scripts/onec_extension.py            # (re)write integrations/1c/extension/
    python scripts/onec_extension.py --check    # exit 1 if the tree on disk differs (CI)

The script owns every ``.xml`` file of the tree: it rewrites them and deletes stale ones. The ``.bsl``
modules belong to people: a missing stub module is created once, an existing module is never touched,
and a module the description calls ``existing`` must already be there. The result loads with
``1cv8 DESIGNER /LoadConfigFromFiles <dir> -Extension РаспознаваниеРечи`` (platform 8.3.18+, format 2.11);
it was checked structurally here, never loaded into a platform.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import onec_form
import onec_objects

ROOT = Path(__file__).resolve().parents[1]
DESCRIPTION = ROOT / "integrations" / "1c" / "extension.toml"
TARGET = ROOT / "integrations" / "1c" / "extension"

STUB = (
    "\ufeff// {title}\n"
    "// Заготовка: текст модуля пишется вручную (lead), генератор scripts/onec_extension.py его не трогает.\n"
    "\n"
    "#Область ПрограммныйИнтерфейс\n"
    "\n"
    "{body}"
    "#КонецОбласти\n"
)
HTTP_HANDLER = (
    "Функция {handler}(Запрос)\n\tОтвет = Новый HTTPСервисОтвет(501);\n\tВозврат Ответ;\nКонецФункции\n\n"
)


@dataclass
class Tree:
    """What the description turns into: XML texts by relative path, and the modules it needs."""

    xml: dict[str, str] = field(default_factory=dict)
    modules: dict[str, str | None] = field(default_factory=dict)  # path -> stub text, None if existing


def load(path: Path = DESCRIPTION) -> dict[str, Any]:
    with path.open("rb") as f:
        return tomllib.load(f)


def qualify(ref: str, prefix: str) -> str:
    """``Catalog.Аудиофайлы`` -> ``Catalog.рр_Аудиофайлы``; ``CommonModule.X.Method`` keeps the method."""
    cls, rest = ref.split(".", 1)
    return f"{cls}.{prefix}{rest}"


def build(desc: Mapping[str, Any]) -> Tree:
    ext = desc["extension"]
    prefix = ext["prefix"]
    tree = Tree()
    children: list[tuple[str, str]] = [("Language", ext["language"])]
    tree.xml[f"Languages/{ext['language']}.xml"] = onec_objects.language(ext["language"])

    for spec in desc.get("catalog", []):
        name = prefix + spec["name"]
        children.append(("Catalog", name))
        tree.xml[f"Catalogs/{name}.xml"] = onec_objects.catalog(name, spec, prefix)
    for spec in desc.get("constant", []):
        name = prefix + spec["name"]
        children.append(("Constant", name))
        tree.xml[f"Constants/{name}.xml"] = onec_objects.constant(name, spec, prefix)
    for spec in desc.get("common_module", []):
        name = prefix + spec["name"]
        children.append(("CommonModule", name))
        tree.xml[f"CommonModules/{name}.xml"] = onec_objects.common_module(name, spec)
        stub = None if spec["module"] == "existing" else STUB.format(title=spec["synonym"], body="")
        tree.modules[f"CommonModules/{name}/Ext/Module.bsl"] = stub
    for spec in desc.get("scheduled_job", []):
        name = prefix + spec["name"]
        children.append(("ScheduledJob", name))
        method = qualify(spec["method"], prefix)
        tree.xml[f"ScheduledJobs/{name}.xml"] = onec_objects.scheduled_job(name, spec, method)
    for spec in desc.get("http_service", []):
        name = prefix + spec["name"]
        children.append(("HTTPService", name))
        tree.xml[f"HTTPServices/{name}.xml"] = onec_objects.http_service(name, spec)
        handlers = "".join(
            HTTP_HANDLER.format(handler=m["handler"]) for t in spec["templates"] for m in t["methods"]
        )
        tree.modules[f"HTTPServices/{name}/Ext/Module.bsl"] = STUB.format(
            title=spec["synonym"], body=handlers
        )
    roles: list[str] = []
    for spec in desc.get("role", []):
        name = prefix + spec["name"]
        roles.append(name)
        children.append(("Role", name))
        tree.xml[f"Roles/{name}.xml"] = onec_objects.role(name, spec)
        grants = [(qualify(g["object"], prefix), g["rights"]) for g in spec["rights"]]
        tree.xml[f"Roles/{name}/Ext/Rights.xml"] = onec_objects.rights(grants)
    for spec in desc.get("data_processor", []):
        _data_processor(tree, children, spec, prefix)

    # No default roles: an extension's default roles are given to every user, the settings role included.
    tree.xml["Configuration.xml"] = onec_objects.configuration(ext, children, default_roles=[])
    return tree


def _data_processor(
    tree: Tree, children: list[tuple[str, str]], spec: Mapping[str, Any], prefix: str
) -> None:
    name = prefix + spec["name"]
    form = spec["form"]
    children.append(("DataProcessor", name))
    base = f"DataProcessors/{name}"
    tree.xml[f"{base}.xml"] = onec_objects.data_processor(name, spec)
    tree.xml[f"{base}/Forms/{form}.xml"] = onec_objects.form_object(
        f"DataProcessor.{name}", form, spec["form_synonym"]
    )
    tree.xml[f"{base}/Forms/{form}/Ext/Form.xml"] = onec_form.form_xml(
        spec, f"DataProcessorObject.{name}", prefix
    )
    tree.modules[f"{base}/Forms/{form}/Ext/Form/Module.bsl"] = None


def differences(tree: Tree, target: Path) -> list[str]:
    """What --check reports: XML files that differ, are missing or stale, and missing modules."""
    problems = []
    for rel, text in sorted(tree.xml.items()):
        path = target / rel
        if not path.is_file():
            problems.append(f"missing: {rel}")
        elif path.read_bytes() != text.encode("utf-8"):
            problems.append(f"differs: {rel}")
    on_disk = {p.relative_to(target).as_posix() for p in target.rglob("*.xml")} if target.is_dir() else set()
    problems += [f"stale: {rel}" for rel in sorted(on_disk - tree.xml.keys())]
    problems += [f"missing module: {rel}" for rel in sorted(tree.modules) if not (target / rel).is_file()]
    return problems


def write(tree: Tree, target: Path) -> None:
    for rel in {p.relative_to(target).as_posix() for p in target.rglob("*.xml")} - tree.xml.keys():
        (target / rel).unlink()
    for rel, text in tree.xml.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    for rel, stub in tree.modules.items():
        path = target / rel
        if path.is_file():
            continue
        if stub is None:
            raise SystemExit(f"onec_extension: the module {rel} must exist (move it there with git mv)")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(stub.encode("utf-8"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the tree on disk differs")
    parser.add_argument("--description", type=Path, default=DESCRIPTION)
    parser.add_argument("--target", type=Path, default=TARGET)
    args = parser.parse_args(argv)
    tree = build(load(args.description))
    if args.check:
        problems = differences(tree, args.target)
        for problem in problems:
            print(f"onec_extension: {problem}")
        if problems:
            print("onec_extension: run `python scripts/onec_extension.py` and commit the result")
            return 1
        print(f"onec_extension: {len(tree.xml)} XML files up to date")
        return 0
    args.target.mkdir(parents=True, exist_ok=True)
    write(tree, args.target)
    print(f"onec_extension: wrote {len(tree.xml)} XML files to {args.target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
