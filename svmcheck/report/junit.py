"""JUnit XML for CI: one testcase per property of a check run.

``holds`` passes; ``violated`` and ``vacuous`` are failures (message: the reason; body: the
readable trace when there is one); ``unknown`` is skipped with the reason (a limit stopped the
run before the property was decided).
"""
from __future__ import annotations

import xml.etree.ElementTree as ET


def junit_xml(res, traces: dict | None = None) -> str:
    """``traces``: property name -> list of text lines (the readable counterexample)."""
    traces = traces or {}
    failures = sum(p.status in ("violated", "vacuous") for p in res.properties)
    skipped = sum(p.status == "unknown" for p in res.properties)
    suites = ET.Element("testsuites", name="svmcheck", tests=str(len(res.properties)),
                        failures=str(failures), errors="0", skipped=str(skipped),
                        time=f"{res.seconds:.3f}")
    suite = ET.SubElement(suites, "testsuite", name=f"svmcheck.{res.model}",
                          tests=str(len(res.properties)), failures=str(failures), errors="0",
                          skipped=str(skipped), time=f"{res.seconds:.3f}")
    props = ET.SubElement(suite, "properties")
    for k, v in res.config.items():
        ET.SubElement(props, "property", name=f"config.{k}", value=str(v))
    for k in ("result", "states", "transitions", "depth"):
        ET.SubElement(props, "property", name=k, value=str(getattr(res, k)))
    if res.stop_reason:
        ET.SubElement(props, "property", name="stop_reason", value=res.stop_reason)
    for p in res.properties:
        case = ET.SubElement(suite, "testcase", classname=f"svmcheck.{res.model}", name=p.name,
                             time="0")
        if p.status in ("violated", "vacuous"):
            f = ET.SubElement(case, "failure", type=p.status,
                              message=f"{p.name} ({p.kind}) {p.status}: {p.reason or ''}")
            body = list(traces.get(p.name, []))
            if p.counterexample:
                body.append(f"replay: svmcheck replay {p.counterexample}")
            f.text = "\n".join(body) or (p.reason or "")
        elif p.status == "unknown":
            ET.SubElement(case, "skipped", message=p.reason or "undecided: a limit was reached")
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, "unicode") + "\n"
