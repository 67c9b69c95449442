"""Findings for people and for tools: text, JSON, SARIF 2.1.0 and JUnit XML.

SARIF is what GitHub code scanning and most IDEs ingest (one *result* per finding,
located by file and line; rule metadata in the driver); JUnit is what every CI
server renders (one *testcase* per file, a *failure* per error, so a clean file is
a passing test). Text groups findings by file, errors first.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

from pilothouse.agents.validator.model import Finding, RuleInfo

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}
ORDER = {"error": 0, "warning": 1, "info": 2}


def counts(findings: Sequence[Finding]) -> dict[str, int]:
    out = {"error": 0, "warning": 0, "info": 0}
    for finding in findings:
        out[finding.severity] += 1
    return out


def text(findings: Sequence[Finding], *, summary: str) -> str:
    lines: list[str] = []
    by_file: dict[str, list[Finding]] = {}
    for finding in findings:
        by_file.setdefault(finding.file, []).append(finding)
    for file in sorted(by_file):
        lines.append(file)
        for f in sorted(by_file[file], key=lambda f: (f.line or 0, ORDER[f.severity])):
            where = f"{file}:{f.line}" if f.line else file
            about = f" [{f.resource}]" if f.resource else ""
            lines.append(f"  {where}: {f.severity} {f.category} ({f.rule_id}): {f.message}{about}")
            if f.hint:
                lines.append(f"      hint: {f.hint}")
            for e in f.evidence:
                lines.append(f"      see: {e.ref}" + (f" — {e.detail}" if e.detail else ""))
    lines.append(summary)
    return "\n".join(lines) + "\n"


def sarif(findings: Sequence[Finding], rules: Sequence[RuleInfo], *, version: str) -> str:
    known = {r.rule_id: r for r in rules}
    used = sorted({f.rule_id for f in findings})
    driver_rules = []
    for rule_id in used:
        info = known.get(rule_id)
        driver_rules.append(
            {
                "id": rule_id,
                "name": rule_id,
                "shortDescription": {"text": info.summary if info else rule_id},
                "defaultConfiguration": {"level": LEVELS[info.severity if info else "warning"]},
                "properties": {"category": info.category if info else ""},
            }
        )
    results = []
    for f in findings:
        result: dict[str, Any] = {
            "ruleId": f.rule_id,
            "level": LEVELS[f.severity],
            "message": {"text": f.message + (f" Hint: {f.hint}" if f.hint else "")},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.file},
                        "region": {"startLine": f.line or 1},
                    }
                }
            ],
            "properties": {"category": f.category},
        }
        if f.resource:
            result["properties"]["resource"] = f.resource.to_dict()
        if f.field:
            result["properties"]["field"] = f.field
        results.append(result)
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "pilothouse-validator",
                        "version": version,
                        "informationUri": "https://github.com/pilothouse/pilothouse",
                        "rules": driver_rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2)


def junit(findings: Sequence[Finding], files: Sequence[str]) -> str:
    by_file: dict[str, list[Finding]] = {file: [] for file in files}
    for f in findings:
        by_file.setdefault(f.file, []).append(f)
    failed = str(sum(1 for fs in by_file.values() if any(f.severity == "error" for f in fs)))
    suites = ET.Element("testsuites", name="pilothouse-validate", tests=str(len(by_file)))
    suites.set("failures", failed)
    suite = ET.SubElement(
        suites, "testsuite", name="pilothouse-validate", tests=str(len(by_file)), failures=failed
    )
    suite.set("errors", "0")
    for file in sorted(by_file):
        case = ET.SubElement(suite, "testcase", classname="manifests", name=file)
        problems = [f for f in by_file[file] if f.severity == "error"]
        for f in problems:
            failure = ET.SubElement(
                case, "failure", message=f"{f.rule_id}: {f.message}", type=f.category
            )
            failure.text = f"{f.file}:{f.line or 1}: {f.message}" + (
                f"\nhint: {f.hint}" if f.hint else ""
            )
        others = [f for f in by_file[file] if f.severity != "error"]
        if others:
            out = ET.SubElement(case, "system-out")
            out.text = "\n".join(
                f"{f.severity} {f.rule_id} line {f.line or 1}: {f.message}" for f in others
            )
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
