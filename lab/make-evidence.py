#!/usr/bin/env python3
"""Writes sync-server evidence for the Samba lab: a configuration export in the
real Get-ADSyncServerConfiguration layout whose AD connectors are the lab's
forests, and a phs-doctor.toml whose [ad] section reaches them (each forest's
own DNS server, the lab CA, a password file per connector, mode 600).

    lab/make-evidence.py OUT_DIR [--forest lab1[:ACCOUNT[:PASSWORD]]]... [--domain lab1:FQDN] [--dcs lab1:HOST,...]
                         [--heartbeat-at RFC3339]

ACCOUNT defaults to svc-direct; PASSWORD to the account's password in
.lab/lab.json (give one to test a wrong password). --domain replaces the
partition's domain name (a domain that does not exist); --dcs sets the DCs to
use instead of DNS. --heartbeat-at adds an Application log (wevtutil XML) in
which the agent is alive and every connector's heartbeat (653/654) was last
written at that time, the log reaching back four hours before it. Test data only: the passwords are the lab's.
"""
import argparse
import json
import os
import pathlib
import uuid
from datetime import datetime, timedelta

ROOT = pathlib.Path(__file__).resolve().parent.parent
ENTRA_ID = "5B0E8C1D-3F6A-4E2B-9C7D-1A2B3C4D5E6F"


def connector_xml(cid, name, forest, account, partitions):
    parts = "".join(
        f"""<partition><id>{{{uuid.uuid5(uuid.NAMESPACE_DNS, dn)}}}</id><name>{dn}</name><selected>1</selected>
<display-name>{fqdn}</display-name><filter><containers><exclusions /><inclusions><inclusion>{dn}</inclusion></inclusions></containers></filter>
<custom-data><adma-partition-data><dn>{dn}</dn><name>{fqdn}</name><is-domain>1</is-domain><last-dc>dc1.{fqdn}</last-dc></adma-partition-data></custom-data></partition>"""
        for dn, fqdn in partitions
    )
    return f"""<ma-data>
<format-version>1</format-version><id>{{{cid}}}</id><name>{name}</name><category>AD</category><description /><subtype />
<ma-listname /><ma-companyname /><version>1</version><password-sync-allowed>0</password-sync-allowed>
<schema><dsml xmlns="http://www.dsml.org/DSML"><directory-schema /></dsml></schema>
<private-configuration><adma-configuration><forest-name>{forest}</forest-name>
<forest-login-domain>{account[0]}</forest-login-domain><forest-login-user>{account[1]}</forest-login-user>
<password-hash-sync-config><enabled>1</enabled><target>{{{ENTRA_ID}}}</target></password-hash-sync-config>
<parameter-values><parameter name="password" type="encrypted-string" use="connectivity" dataType="String" encrypted="1" /></parameter-values>
</adma-configuration></private-configuration>
<ma-partition-data>{parts}</ma-partition-data>
</ma-data>
"""


ENTRA_XML = f"""<ma-data><format-version>1</format-version><id>{{{ENTRA_ID}}}</id><name>lab.onmicrosoft.com - AAD</name>
<category>Extensible2</category><subtype>Windows Azure Active Directory (Microsoft)</subtype>
<private-configuration><MAConfig><parameter-values><parameter name="UserName" type="string" use="connectivity" dataType="String">Sync_LAB-SYNC01_5b0e8c1d3f6a@lab.onmicrosoft.com</parameter><parameter name="Password" type="encrypted-string" use="connectivity" dataType="String" encrypted="1" /></parameter-values></MAConfig></private-configuration>
<ma-partition-data><partition><id>{{{uuid.uuid5(uuid.NAMESPACE_DNS, "default")}}}</id><name>default</name><selected>1</selected></partition></ma-partition-data></ma-data>
"""

MV_XML = """<saved-mv-configuration server='LAB-SYNC01' export-date='2026-11-25 10:00:00'><mv-data><format-version>1</format-version>
<parameter-values><parameter name='Microsoft.Synchronize.StagingMode' type='string' use='SynchronizationGlobal' dataType='String'>False</parameter>
<parameter name='Microsoft.Synchronize.ServerConfigurationVersion' type='string' use='SynchronizationGlobal' dataType='String'>2.6.91.0</parameter></parameter-values>
</mv-data></saved-mv-configuration>
"""


EVENT = ("<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"
         "<Provider Name='Directory Synchronization'/><EventID Qualifiers='0'>{id}</EventID><Version>0</Version>"
         "<Level>4</Level><Task>0</Task><Opcode>0</Opcode><Keywords>0x80000000000000</Keywords>"
         "<TimeCreated SystemTime='{time}'/><EventRecordID>{record}</EventRecordID><Correlation/>"
         "<Execution ProcessID='2876' ThreadID='8012'/><Channel>Application</Channel><Computer>LAB-SYNC01.lab.test</Computer>"
         "<Security/></System><EventData><Data>{text}</Data></EventData></Event>")


def heartbeat_log(at, connectors):
    """The agent's events as wevtutil writes them (no root element): started
    four hours before `at`, then each connector's ping every 30 minutes."""
    end = datetime.fromisoformat(at.replace("Z", "+00:00"))
    stamp = lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
    events = [(end - timedelta(hours=4), 663, "Password Hash Sync manager is alive and running.")]
    for step in range(8, -1, -1):
        t = end - timedelta(minutes=30 * step)
        for cid, fqdn in connectors:
            info = (f"  TrackingID : {uuid.uuid4()}&#xD;&#xA;&lt;forest-info&gt;&#xD;&#xA;  &lt;partition-name&gt;{fqdn}"
                    f"&lt;/partition-name&gt;&#xD;&#xA;  &lt;connector-id&gt;{cid.lower()}&lt;/connector-id&gt;&#xD;&#xA;"
                    "&lt;/forest-info&gt;")
            events.append((t - timedelta(seconds=1), 653, "Provision credentials ping start." + info))
            events.append((t, 654, "Provision credentials ping end." + info))
    return "".join(EVENT.format(id=i, time=stamp(t), record=48000 + n, text=text) + "\r\n"
                   for n, (t, i, text) in enumerate(events))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--forest", action="append", default=[])
    ap.add_argument("--domain", action="append", default=[])
    ap.add_argument("--dcs", action="append", default=[])
    ap.add_argument("--heartbeat-at")
    # When the "gather script" ran: the log is complete up to here.
    ap.add_argument("--gathered-at")
    ap.add_argument("--facts", default=str(ROOT / ".lab" / "lab.json"))
    args = ap.parse_args()
    facts = json.load(open(args.facts))["forests"]
    out = pathlib.Path(args.out)
    (out / "server-config" / "Connectors").mkdir(parents=True, exist_ok=True)
    (out / "server-config" / "GlobalSettings").mkdir(parents=True, exist_ok=True)
    (out / "server-config" / "SynchronizationRules").mkdir(parents=True, exist_ok=True)
    # One CA bundle for both forests' lab CAs.
    bundle = out / "lab-ca.pem"
    bundle.write_text("".join(open(f["tls"]["ca_file"]).read() for f in facts.values()))
    (out / "server-config" / "GlobalSettings" / "MV.xml").write_text(MV_XML)
    (out / "server-config" / "Connectors" / f"Connector_{{{ENTRA_ID.lower()}}}.xml").write_text(ENTRA_XML)
    domains = dict(d.split(":", 1) for d in args.domain)
    dcs = dict(d.split(":", 1) for d in args.dcs)
    toml = ["[server]", 'config_dir = "server-config"']
    if args.heartbeat_at:
        toml.append('events = ["events/Application.xml"]')
    if args.gathered_at:
        toml.append(f'gathered_at = "{args.gathered_at}"')
    toml += ["", "[ad]", 'locator = "dns"',
            'tls_ca_file = "lab-ca.pem"', 'connect_timeout = "2s"', 'operation_timeout = "5s"', ""]
    connectors = []
    for spec in args.forest or ["lab1", "lab2"]:
        key, _, rest = spec.partition(":")
        account, _, password = rest.partition(":")
        f = facts[key]
        account = account or "svc-direct"
        if not password:
            password = f["accounts"][account]["password"]
        fqdn = domains.get(key, f["domain"])
        dn = ",".join(f"DC={label}" for label in fqdn.split("."))
        cid = str(uuid.uuid5(uuid.NAMESPACE_DNS, "connector." + f["domain"])).upper()
        connectors.append((cid, fqdn))
        xml = connector_xml(cid, f["domain"], f["domain"], (f["netbios"], account), [(dn, fqdn)])
        (out / "server-config" / "Connectors" / f"Connector_{{{cid.lower()}}}.xml").write_text(xml)
        pw = out / f"{key}.password"
        pw.write_text(password + "\n")
        os.chmod(pw, 0o600)
        toml += [f'[ad.connector."{f["domain"]}"]', f'password_file = "{pw.name}"', f'dns_server = "{f["ip"]}:53"']
        if key in dcs:
            toml.append("dcs = [" + ", ".join(f'"{h}"' for h in dcs[key].split(",")) + "]")
        toml.append("")
    if args.heartbeat_at:
        (out / "events").mkdir(exist_ok=True)
        (out / "events" / "Application.xml").write_text(heartbeat_log(args.heartbeat_at, connectors), newline="")
    (out / "phs-doctor.toml").write_text("\n".join(toml))
    print(out / "phs-doctor.toml")


if __name__ == "__main__":
    main()
