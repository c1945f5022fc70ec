#!/usr/bin/env python3
"""Writes an evidence folder with N AD connectors, for benches/many-connectors.sh.

Each connector is the shipped example's tailspintoys.com connector
(examples/two-forest-broken, fictitious data of this repository) under a new
GUID and forest name (forest00042.example); the Entra connector, global
settings and sync rules are the example's. The event log holds, per
connector, a heartbeat pair naming it in its <forest-info> block, as the
agent writes them, then the example's own records.

Usage: gen-many-connectors.py N OUT_DIR
"""
import pathlib
import re
import shutil
import sys
import uuid

REPO = pathlib.Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples/two-forest-broken"
TEMPLATE_ID = "e83ffdad-8f41-4c2a-b219-b299f2b177c7"


def main():
    n, out = int(sys.argv[1]), pathlib.Path(sys.argv[2])
    if out.exists():
        shutil.rmtree(out)
    cfg = out / "server-config"
    shutil.copytree(EXAMPLE / "server-config", cfg)
    connectors = cfg / "Connectors"
    template_path = connectors / f"Connector_{{{TEMPLATE_ID}}}.xml"
    template = template_path.read_text(encoding="utf-8")
    template_path.unlink()
    # The example's other AD connector stays out: only generated forests.
    for p in connectors.glob("Connector_*.xml"):
        if "<forest-name>" in p.read_text(encoding="utf-8"):
            p.unlink()
    guid_re = re.compile(re.escape(TEMPLATE_ID), re.IGNORECASE)
    events = []
    seq = 1
    for i in range(n):
        cid = str(uuid.UUID(int=(0x5eed << 96) + i))
        name = f"forest{i:05d}"
        text = guid_re.sub(lambda m: cid.upper() if m.group(0).isupper() else cid, template)
        text = text.replace("tailspintoys.com", f"{name}.example").replace("DC=tailspintoys,DC=com", f"DC={name},DC=example")
        text = text.replace("TAILSPINTOYS", name.upper()).replace("tailspintoys", name)
        (connectors / f"Connector_{{{cid}}}.xml").write_text(text, encoding="utf-8")
        minute = 20 + (i % 30)
        for eid, what in ((653, "Provision credentials ping start."), (654, "Provision credentials ping end.")):
            trailer = (
                "&#xD;&#xA;&lt;forest-info&gt;&#xD;&#xA;  &lt;partition-name&gt;"
                f"{name}.example&lt;/partition-name&gt;&#xD;&#xA;  &lt;connector-id&gt;{cid}"
                "&lt;/connector-id&gt;&#xD;&#xA;&lt;/forest-info&gt;"
            )
            events.append(
                "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"
                "<Provider Name='Directory Synchronization'/>"
                f"<EventID Qualifiers='0'>{eid}</EventID><Version>0</Version><Level>4</Level><Task>0</Task>"
                "<Opcode>0</Opcode><Keywords>0x80000000000000</Keywords>"
                f"<TimeCreated SystemTime='2026-11-24T11:{minute:02d}:{10 + (eid - 653):02d}.0000000Z'/>"
                f"<EventRecordID>{900000 + seq}</EventRecordID><Correlation/>"
                "<Execution ProcessID='2876' ThreadID='5012'/><Channel>Application</Channel>"
                "<Computer>FABRIKAM-SYNC01.fabrikam.com</Computer><Security/></System>"
                f"<EventData><Data>{what}  TrackingID : {uuid.UUID(int=seq)}{trailer}</Data></EventData></Event>"
            )
            seq += 1
    (out / "events").mkdir()
    example_log = (EXAMPLE / "events/Application.xml").read_text(encoding="utf-8").splitlines()
    (out / "events/Application.xml").write_text("\n".join(example_log + events) + "\n", encoding="utf-8")
    (out / "phs-doctor.toml").write_text(
        '[server]\nconfig_dir = "server-config"\nevents = ["events/Application.xml"]\n'
        'gathered_at = "2026-11-24T12:00:00Z"\n\n[evaluation]\nnow = "2026-11-24T12:00:00Z"\n',
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
