"""The metadata objects of the extension, one function per class, each returning one file's text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from onec_metadata import (
    CONFIGURATION_CLASSES,
    attribute,
    document,
    generated_types,
    ids,
    indent,
    localized,
    type_lines,
    value_properties,
    x,
)

Spec = Mapping[str, Any]

# The order of ChildObjects in Configuration.xml, as Designer writes it.
CLASS_ORDER = (
    "Language",
    "Role",
    "CommonModule",
    "HTTPService",
    "ScheduledJob",
    "Constant",
    "Catalog",
    "DataProcessor",
)


def configuration(ext: Spec, children: Sequence[tuple[str, str]], default_roles: Sequence[str]) -> str:
    full = "Configuration." + ext["name"]
    info = ["<InternalInfo>"]
    for class_id in CONFIGURATION_CLASSES:
        info += [
            "\t<xr:ContainedObject>",
            f"\t\t<xr:ClassId>{class_id}</xr:ClassId>",
            f"\t\t<xr:ObjectId>{ids(full, class_id)}</xr:ObjectId>",
            "\t</xr:ContainedObject>",
        ]
    info.append("</InternalInfo>")
    props = [
        "<Name>" + x(ext["name"]) + "</Name>",
        *localized("Synonym", ext["synonym"]),
        "<Comment/>",
        "<ConfigurationExtensionPurpose>AddOn</ConfigurationExtensionPurpose>",
        "<ObjectBelonging>Adopted</ObjectBelonging>",
        # Adopted objects (only the language here) are matched by name, not by the identifiers of
        # objects in a configuration we have never seen.
        "<KeepMappingToExtendedConfigurationObjectsByIDs>false</KeepMappingToExtendedConfigurationObjectsByIDs>",
        "<NamePrefix>" + x(ext["prefix"]) + "</NamePrefix>",
        f"<ConfigurationExtensionCompatibilityMode>{ext['compatibility']}</ConfigurationExtensionCompatibilityMode>",
        "<DefaultRunMode>ManagedApplication</DefaultRunMode>",
        "<UsePurposes>",
        '\t<v8:Value xsi:type="app:ApplicationUsePurpose">PlatformApplication</v8:Value>',
        "</UsePurposes>",
        "<ScriptVariant>Russian</ScriptVariant>",
    ]
    if default_roles:
        props += ["<DefaultRoles>"]
        props += [f'\t<xr:Item xsi:type="xr:MDObjectRef">Role.{x(r)}</xr:Item>' for r in default_roles]
        props += ["</DefaultRoles>"]
    else:
        props.append("<DefaultRoles/>")
    props += [
        "<Vendor>" + x(ext.get("vendor", "")) + "</Vendor>" if ext.get("vendor") else "<Vendor/>",
        "<Version>" + x(ext["version"]) + "</Version>",
        f"<DefaultLanguage>Language.{x(ext['language'])}</DefaultLanguage>",
        "<BriefInformation/>",
        "<DetailedInformation/>",
        "<Copyright/>",
        "<VendorInformationAddress/>",
        "<ConfigurationInformationAddress/>",
        "<InterfaceCompatibilityMode>Taxi</InterfaceCompatibilityMode>",
    ]
    ordered = sorted(children, key=lambda c: CLASS_ORDER.index(c[0]))
    kids = [f"<{cls}>{x(name)}</{cls}>" for cls, name in ordered]
    body = (
        indent(info, 2)
        + indent(["<Properties>", *["\t" + p for p in props], "</Properties>"], 2)
        + indent(["<ChildObjects>", *["\t" + k for k in kids], "</ChildObjects>"], 2)
    )
    return document("Configuration", ids(full), body)


def language(name: str) -> str:
    # Adopted from the extended configuration: an extension cannot add a language of its own.
    props = [
        "<Properties>",
        "\t<Name>" + x(name) + "</Name>",
        "\t<Comment/>",
        "\t<ObjectBelonging>Adopted</ObjectBelonging>",
        "\t<LanguageCode>ru</LanguageCode>",
        "</Properties>",
    ]
    return document("Language", ids("Language." + name), indent(["<InternalInfo/>", *props], 2))


def common_module(name: str, spec: Spec) -> str:
    props = [
        "<Name>" + x(name) + "</Name>",
        *localized("Synonym", spec.get("synonym", "")),
        "<Comment/>",
        "<Global>false</Global>",
        "<ClientManagedApplication>false</ClientManagedApplication>",
        f"<Server>{_bool(spec.get('server', True))}</Server>",
        f"<ExternalConnection>{_bool(spec.get('external_connection', False))}</ExternalConnection>",
        "<ClientOrdinaryApplication>"
        + _bool(spec.get("client_ordinary_application", False))
        + "</ClientOrdinaryApplication>",
        f"<ServerCall>{_bool(spec.get('server_call', False))}</ServerCall>",
        "<Privileged>false</Privileged>",
        "<ReturnValuesReuse>DontUse</ReturnValuesReuse>",
    ]
    return document("CommonModule", ids("CommonModule." + name), _properties(props))


def constant(name: str, spec: Spec, prefix: str) -> str:
    full = "Constant." + name
    props = [
        "<Name>" + x(name) + "</Name>",
        *localized("Synonym", spec.get("synonym", "")),
        "<Comment/>",
        *type_lines(spec, prefix),
        "<UseStandardCommands>true</UseStandardCommands>",
        "<DefaultForm/>",
        "<ExtendedPresentation/>",
        "<Explanation/>",
        *value_properties(spec, password=bool(spec.get("password"))),
        "<FillChecking>DontCheck</FillChecking>",
        "<ChoiceFoldersAndItems>Items</ChoiceFoldersAndItems>",
        "<ChoiceParameterLinks/>",
        "<ChoiceParameters/>",
        "<QuickChoice>Auto</QuickChoice>",
        "<ChoiceForm/>",
        "<LinkByType/>",
        "<ChoiceHistoryOnInput>Auto</ChoiceHistoryOnInput>",
        "<DataLockControlMode>Managed</DataLockControlMode>",
    ]
    info = generated_types(full, [("ConstantManager", "Manager"), ("ConstantValueManager", "ValueManager")])
    return document("Constant", ids(full), indent(info, 2) + _properties(props))


def catalog(name: str, spec: Spec, prefix: str) -> str:
    full = "Catalog." + name
    kinds = [
        ("CatalogObject", "Object"),
        ("CatalogRef", "Ref"),
        ("CatalogSelection", "Selection"),
        ("CatalogList", "List"),
        ("CatalogManager", "Manager"),
    ]
    props = [
        "<Name>" + x(name) + "</Name>",
        *localized("Synonym", spec.get("synonym", "")),
        "<Comment/>",
        "<Hierarchical>false</Hierarchical>",
        "<HierarchyType>HierarchyFoldersAndItems</HierarchyType>",
        "<LimitLevelCount>false</LimitLevelCount>",
        "<LevelCount>2</LevelCount>",
        "<FoldersOnTop>true</FoldersOnTop>",
        "<UseStandardCommands>true</UseStandardCommands>",
        "<Owners/>",
        "<SubordinationUse>ToItems</SubordinationUse>",
        "<CodeLength>9</CodeLength>",
        f"<DescriptionLength>{spec.get('description_length', 25)}</DescriptionLength>",
        "<CodeType>String</CodeType>",
        "<CodeAllowedLength>Variable</CodeAllowedLength>",
        "<CodeSeries>WholeCatalog</CodeSeries>",
        "<CheckUnique>true</CheckUnique>",
        "<Autonumbering>true</Autonumbering>",
        "<DefaultPresentation>AsDescription</DefaultPresentation>",
        "<Characteristics/>",
        "<PredefinedDataUpdate>Auto</PredefinedDataUpdate>",
        "<EditType>InDialog</EditType>",
        "<QuickChoice>false</QuickChoice>",
        "<ChoiceMode>BothWays</ChoiceMode>",
        "<InputByString>",
        f"\t<xr:Field>{x(full)}.StandardAttribute.Description</xr:Field>",
        f"\t<xr:Field>{x(full)}.StandardAttribute.Code</xr:Field>",
        "</InputByString>",
        "<SearchStringModeOnInputByString>Begin</SearchStringModeOnInputByString>",
        "<FullTextSearchOnInputByString>DontUse</FullTextSearchOnInputByString>",
        "<ChoiceDataGetModeOnInputByString>Directly</ChoiceDataGetModeOnInputByString>",
        *[
            f"<{tag}/>"
            for tag in (
                "DefaultObjectForm",
                "DefaultFolderForm",
                "DefaultListForm",
                "DefaultChoiceForm",
                "DefaultFolderChoiceForm",
                "AuxiliaryObjectForm",
                "AuxiliaryFolderForm",
                "AuxiliaryListForm",
                "AuxiliaryChoiceForm",
                "AuxiliaryFolderChoiceForm",
            )
        ],
        "<IncludeHelpInContents>false</IncludeHelpInContents>",
        "<BasedOn/>",
        "<DataLockFields/>",
        "<DataLockControlMode>Managed</DataLockControlMode>",
        "<FullTextSearch>Use</FullTextSearch>",
        "<ObjectPresentation/>",
        "<ExtendedObjectPresentation/>",
        "<ListPresentation/>",
        "<ExtendedListPresentation/>",
        "<Explanation/>",
        "<CreateOnInput>Use</CreateOnInput>",
        "<ChoiceHistoryOnInput>Auto</ChoiceHistoryOnInput>",
        "<DataHistory>DontUse</DataHistory>",
        "<UpdateDataHistoryImmediatelyAfterWrite>false</UpdateDataHistoryImmediatelyAfterWrite>",
        "<ExecuteAfterWriteDataHistoryVersionProcessing>false</ExecuteAfterWriteDataHistoryVersionProcessing>",
    ]
    children: list[str] = []
    for attr in spec.get("attributes", []):
        children += attribute(full, attr, prefix)
    for tab in spec.get("tabular", []):
        children += _tabular_section(full, tab, prefix)
    body = (
        indent(generated_types(full, kinds), 2)
        + _properties(props)
        + indent(["<ChildObjects>", *["\t" + c for c in children], "</ChildObjects>"], 2)
    )
    return document("Catalog", ids(full), body)


def _tabular_section(owner: str, spec: Spec, prefix: str) -> list[str]:
    name = spec["name"]
    full = f"{owner}.TabularSection.{name}"
    cls, owner_name = owner.split(".", 1)
    info = ["<InternalInfo>"]
    for type_prefix, category in (
        (f"{cls}TabularSection", "TabularSection"),
        (f"{cls}TabularSectionRow", "TabularSectionRow"),
    ):
        info += [
            f'\t<xr:GeneratedType name="{type_prefix}.{x(owner_name)}.{x(name)}" category="{category}">',
            f"\t\t<xr:TypeId>{ids(full, type_prefix, 'TypeId')}</xr:TypeId>",
            f"\t\t<xr:ValueId>{ids(full, type_prefix, 'ValueId')}</xr:ValueId>",
            "\t</xr:GeneratedType>",
        ]
    info.append("</InternalInfo>")
    props = [
        "<Properties>",
        "\t<Name>" + x(name) + "</Name>",
        *["\t" + ln for ln in localized("Synonym", spec.get("synonym", ""))],
        "\t<Comment/>",
        "\t<ToolTip/>",
        "\t<FillChecking>DontCheck</FillChecking>",
        "\t<Use>ForItem</Use>",
        "</Properties>",
    ]
    kids: list[str] = []
    for attr in spec.get("attributes", []):
        kids += attribute(full, attr, prefix, in_tabular=True)
    lines = [*info, *props, "<ChildObjects>", *["\t" + k for k in kids], "</ChildObjects>"]
    return [f'<TabularSection uuid="{ids(full)}">', *["\t" + ln for ln in lines], "</TabularSection>"]


def data_processor(name: str, spec: Spec) -> str:
    full = "DataProcessor." + name
    form = spec["form"]
    props = [
        "<Name>" + x(name) + "</Name>",
        *localized("Synonym", spec.get("synonym", "")),
        "<Comment/>",
        "<UseStandardCommands>true</UseStandardCommands>",
        f"<DefaultForm>{x(full)}.Form.{x(form)}</DefaultForm>",
        "<AuxiliaryForm/>",
        "<IncludeHelpInContents>false</IncludeHelpInContents>",
        "<ExtendedPresentation/>",
        "<Explanation/>",
    ]
    info = generated_types(full, [("DataProcessorObject", "Object"), ("DataProcessorManager", "Manager")])
    body = (
        indent(info, 2)
        + _properties(props)
        + indent(["<ChildObjects>", f"\t<Form>{x(form)}</Form>", "</ChildObjects>"], 2)
    )
    return document("DataProcessor", ids(full), body)


def form_object(owner: str, name: str, synonym: str) -> str:
    props = [
        "<Name>" + x(name) + "</Name>",
        *localized("Synonym", synonym),
        "<Comment/>",
        "<FormType>Managed</FormType>",
        "<IncludeHelpInContents>false</IncludeHelpInContents>",
        "<UsePurposes>",
        '\t<v8:Value xsi:type="app:ApplicationUsePurpose">PlatformApplication</v8:Value>',
        "</UsePurposes>",
    ]
    return document("Form", ids(f"{owner}.Form.{name}"), _properties(props))


def role(name: str, spec: Spec) -> str:
    props = ["<Name>" + x(name) + "</Name>", *localized("Synonym", spec.get("synonym", "")), "<Comment/>"]
    return document("Role", ids("Role." + name), _properties(props))


def rights(grants: Sequence[tuple[str, Sequence[str]]]) -> str:
    """Rights.xml: only the rights listed are set; every other object keeps no rights."""
    lines = [
        "\ufeff" + '<?xml version="1.0" encoding="UTF-8"?>',
        '<Rights xmlns="http://v8.1c.ru/8.2/roles" xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Rights" version="2.11">',
        "\t<setForNewObjects>false</setForNewObjects>",
        "\t<setForAttributesByDefault>true</setForAttributesByDefault>",
        "\t<independentRightsOfChildObjects>false</independentRightsOfChildObjects>",
    ]
    for obj, names in grants:
        lines += ["\t<object>", f"\t\t<name>{x(obj)}</name>"]
        for right in names:
            lines += [
                "\t\t<right>",
                f"\t\t\t<name>{right}</name>",
                "\t\t\t<value>true</value>",
                "\t\t</right>",
            ]
        lines.append("\t</object>")
    lines.append("</Rights>")
    return "\n".join(lines)


def scheduled_job(name: str, spec: Spec, method: str) -> str:
    props = [
        "<Name>" + x(name) + "</Name>",
        *localized("Synonym", spec.get("synonym", "")),
        "<Comment/>",
        f"<MethodName>{x(method)}</MethodName>",
        f"<Description>{x(spec.get('description', ''))}</Description>",
        "<Key/>",
        f"<Use>{_bool(spec.get('use', False))}</Use>",
        "<Predefined>true</Predefined>",
        f"<RestartCountOnFailure>{spec.get('restart_count', 3)}</RestartCountOnFailure>",
        f"<RestartIntervalOnFailure>{spec.get('restart_interval', 10)}</RestartIntervalOnFailure>",
    ]
    return document("ScheduledJob", ids("ScheduledJob." + name), _properties(props))


def http_service(name: str, spec: Spec) -> str:
    full = "HTTPService." + name
    props = [
        "<Name>" + x(name) + "</Name>",
        *localized("Synonym", spec.get("synonym", "")),
        "<Comment/>",
        f"<RootURL>{x(spec['root_url'])}</RootURL>",
        "<ReuseSessions>AutoUse</ReuseSessions>",
        "<SessionMaxAge>20</SessionMaxAge>",
    ]
    kids: list[str] = []
    for tpl in spec.get("templates", []):
        tfull = f"{full}.URLTemplate.{tpl['name']}"
        methods: list[str] = []
        for m in tpl.get("methods", []):
            methods += [
                f'<Method uuid="{ids(tfull, "Method", m["name"])}">',
                "\t<Properties>",
                "\t\t<Name>" + x(m["name"]) + "</Name>",
                *["\t\t" + ln for ln in localized("Synonym", m["name"])],
                "\t\t<Comment/>",
                f"\t\t<HTTPMethod>{m['http']}</HTTPMethod>",
                f"\t\t<Handler>{x(m['handler'])}</Handler>",
                "\t</Properties>",
                "</Method>",
            ]
        kids += [
            f'<URLTemplate uuid="{ids(tfull)}">',
            "\t<Properties>",
            "\t\t<Name>" + x(tpl["name"]) + "</Name>",
            *["\t\t" + ln for ln in localized("Synonym", tpl["name"])],
            "\t\t<Comment/>",
            f"\t\t<Template>{x(tpl['template'])}</Template>",
            "\t</Properties>",
            "\t<ChildObjects>",
            *["\t\t" + ln for ln in methods],
            "\t</ChildObjects>",
            "</URLTemplate>",
        ]
    body = _properties(props) + indent(["<ChildObjects>", *["\t" + k for k in kids], "</ChildObjects>"], 2)
    return document("HTTPService", ids(full), body)


def _properties(props: Sequence[str]) -> str:
    return indent(["<Properties>", *["\t" + p for p in props], "</Properties>"], 2)


def _bool(value: object) -> str:
    return "true" if value else "false"
