#!/usr/bin/env python3
"""Writes sync-server evidence for the Samba lab: a configuration export in the
real Get-ADSyncServerConfiguration layout whose AD connectors are the lab's
forests, and a phs-doctor.toml whose [ad] section reaches them (each forest's
own DNS server, the lab CA, a password file per connector, mode 600).

    lab/make-evidence.py OUT_DIR [--forest lab1[:ACCOUNT[:PASSWORD]]]... [--domain lab1:FQDN] [--dcs lab1:HOST,...]
                         [--heartbeat-at RFC3339] [--exclude lab1:OU=Excluded]... [--user lab1:alice[:STATE]]

ACCOUNT defaults to svc-direct; PASSWORD to the account's password in
.lab/lab.json (give one to test a wrong password). --domain replaces the
partition's domain name (a domain that does not exist); --dcs sets the DCs to
use instead of DNS. --heartbeat-at adds an Application log (wevtutil XML) in
which the agent is alive and every connector's heartbeat (653/654) was last
written at that time, the log reaching back four hours before it. --exclude
leaves an OU of the forest out of the connector's scope (the domain root stays
included). --user writes that lab user's sync engine objects as
Get-ADSyncCSObject / Get-ADSyncMVObject / Get-ADSyncCSObjectLog save them
(PowerShell 7 shape, from the facts file): STATE is joined (the default),
disconnector, cloudfiltered, export-error, pending-export, no-password-rule,
filtered-by-target or absent (the AD cmdlet found nothing). Every export has
the two standard password sync rules. Test data only: the passwords are the lab's.
"""
import argparse
import json
import os
import pathlib
import uuid
from datetime import datetime, timedelta

ROOT = pathlib.Path(__file__).resolve().parent.parent
ENTRA_ID = "5B0E8C1D-3F6A-4E2B-9C7D-1A2B3C4D5E6F"


CLASSES = ["computer", "contact", "group", "inetOrgPerson", "user", "container", "domainDNS", "organizationalUnit"]


def connector_xml(cid, name, forest, account, partitions, excluded=()):
    classes = "".join(f"<object-class>{c}</object-class>" for c in CLASSES)
    exclusions = "".join(f"<exclusion>{x}</exclusion>" for x in excluded)
    parts = "".join(
        f"""<partition><id>{{{uuid.uuid5(uuid.NAMESPACE_DNS, dn)}}}</id><name>{dn}</name><selected>1</selected>
<display-name>{fqdn}</display-name><filter><object-classes>{classes}</object-classes><containers><exclusions>{exclusions}</exclusions><inclusions><inclusion>{dn}</inclusion></inclusions></containers></filter>
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


def rule_xml(rid, name, direction, connector, password_sync=True):
    return f"""<synchronizationRule><id>{{{rid}}}</id><internal-id>{{{rid}}}</internal-id><name>{name}</name>
<direction>{direction}</direction><disabled>False</disabled><connector>{{{connector}}}</connector>
<sourceObjectType>{"user" if direction == "Inbound" else "person"}</sourceObjectType>
<targetObjectType>{"person" if direction == "Inbound" else "user"}</targetObjectType><linkType>Join</linkType>
<precedence>{100 if direction == "Inbound" else 120}</precedence><EnablePasswordSync>{str(password_sync).lower()}</EnablePasswordSync>
</synchronizationRule>
"""


def rule_id(name, connector):
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, f"rule.{name}.{connector}")).upper()


def user_objects(out, f, cid, sam, state):
    """The user's AD and Entra connector space objects, metaverse object and
    password sync log, as PowerShell 7's ConvertTo-Json -Depth 6 writes them."""
    import base64
    acct = f["accounts"][sam]
    raw = uuid.UUID(acct["guid"]).bytes_le
    anchor = base64.b64encode(raw).decode()
    entra_dn = "CN={" + "".join("%02X" % c for c in anchor.encode()) + "}"
    ids = {k: str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{k}.{acct['dn']}")).upper() for k in ("ad", "mv", "entra")}
    inbound = "In from AD - User AccountEnabled"
    lineage = lambda name, conn, op: {"SyncRuleInternalId": rule_id(name, conn), "SyncRuleName": name, "Operation": op}
    ad_cs = {
        "ObjectId": ids["ad"], "ConnectorId": cid, "ConnectorName": f["domain"], "ConnectorType": "AD",
        "DistinguishedName": acct["dn"], "ObjectType": "user", "IsTransient": False, "IsPlaceHolder": False,
        "IsConnector": state != "disconnector", "HasSyncError": False, "HasExportError": False,
        "ExportError": None, "SynchronizationError": None, "ConnectedMVObjectId": None if state == "disconnector" else ids["mv"],
        "Lineage": [] if state == "disconnector" else [lineage(inbound, cid, "Join")],
        "Attributes": [{"Name": "objectGUID", "Type": "Binary", "IsMultiValued": False, "Values": [list(raw)]},
                       {"Name": "sAMAccountName", "Type": "String", "IsMultiValued": False, "Values": [sam]}],
    }
    entra_cs = {
        "ObjectId": ids["entra"], "ConnectorId": ENTRA_ID, "ConnectorName": "lab.onmicrosoft.com - AAD",
        "ConnectorType": "Extensible2", "DistinguishedName": entra_dn, "ObjectType": "user", "IsTransient": False,
        "IsPlaceHolder": False, "IsConnector": True, "HasSyncError": False, "HasExportError": state == "export-error",
        "ExportError": {"ErrorName": "AttributeValueMustBeUnique", "ErrorCode": "0x8023134a", "RetryCount": 4}
        if state == "export-error" else None,
        "SynchronizationError": None, "ConnectedMVObjectId": ids["mv"],
        "Lineage": [] if state == "no-password-rule" else [lineage("Out to AAD - User Join", ENTRA_ID, "Provision")],
        "Attributes": [{"Name": "sourceAnchor", "Type": "String", "IsMultiValued": False, "Values": [anchor]}],
    }
    if state == "pending-export":
        entra_cs["PendingExport"] = {"Operation": "Update"}
    mv = {
        "ObjectId": ids["mv"], "ObjectType": "person",
        "Lineage": [{"ConnectorId": cid, "ConnectorName": f["domain"], "ConnectedCsObjectDN": acct["dn"], "ConnectedCsObjectId": ids["ad"]},
                    {"ConnectorId": ENTRA_ID, "ConnectorName": "lab.onmicrosoft.com - AAD", "ConnectedCsObjectDN": entra_dn,
                     "ConnectedCsObjectId": ids["entra"]}],
        "Attributes": [{"Name": "domainFQDN", "Values": [f["domain"]]}] +
                      ([{"Name": "cloudFiltered", "Values": ["true"]}] if state == "cloudfiltered" else []),
    }
    status = "FilteredByTarget" if state == "filtered-by-target" else "Success"
    log = [{"CsObjectId": ids["ad"], "DistinguishedName": acct["dn"], "TimeStamp": datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Status": status}]
    (out / "sync-engine").mkdir(exist_ok=True)
    files = {"ad-cs.json": None if state == "absent" else ad_cs, "entra-cs.json": entra_cs, "mv.json": mv, "cs-log.json": log}
    for name, obj in files.items():
        (out / "sync-engine" / name).write_text(json.dumps(obj, indent=2))
    return ['cs_objects = ["sync-engine/ad-cs.json", "sync-engine/entra-cs.json"]',
            'mv_objects = ["sync-engine/mv.json"]', 'cs_object_logs = ["sync-engine/cs-log.json"]']


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
    ap.add_argument("--exclude", action="append", default=[])
    ap.add_argument("--user")
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
    excluded = {}
    for e in args.exclude:
        key, ou = e.split(":", 1)
        excluded.setdefault(key, []).append(f"{ou},{facts[key]['base_dn']}")
    rules = out / "server-config" / "SynchronizationRules"
    out_rule = rule_id("Out to AAD - User Join", ENTRA_ID)
    (rules / f"SynchronizationRule_{{{out_rule.lower()}}}.xml").write_text(
        rule_xml(out_rule, "Out to AAD - User Join", "Outbound", ENTRA_ID))
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
        xml = connector_xml(cid, f["domain"], f["domain"], (f["netbios"], account), [(dn, fqdn)], excluded.get(key, ()))
        in_rule = rule_id("In from AD - User AccountEnabled", cid)
        (rules / f"SynchronizationRule_{{{in_rule.lower()}}}.xml").write_text(
            rule_xml(in_rule, "In from AD - User AccountEnabled", "Inbound", cid))
        (out / "server-config" / "Connectors" / f"Connector_{{{cid.lower()}}}.xml").write_text(xml)
        pw = out / f"{key}.password"
        pw.write_text(password + "\n")
        os.chmod(pw, 0o600)
        toml += [f'[ad.connector."{f["domain"]}"]', f'password_file = "{pw.name}"', f'dns_server = "{f["ip"]}:53"']
        if key in dcs:
            toml.append("dcs = [" + ", ".join(f'"{h}"' for h in dcs[key].split(",")) + "]")
        toml.append("")
    if args.user:
        key, sam, *state = args.user.split(":")
        cid = str(uuid.uuid5(uuid.NAMESPACE_DNS, "connector." + facts[key]["domain"])).upper()
        lines = user_objects(out, facts[key], cid, sam, state[0] if state else "joined")
        toml[2:2] = lines
    if args.heartbeat_at:
        (out / "events").mkdir(exist_ok=True)
        (out / "events" / "Application.xml").write_text(heartbeat_log(args.heartbeat_at, connectors), newline="")
    (out / "phs-doctor.toml").write_text("\n".join(toml))
    print(out / "phs-doctor.toml")


if __name__ == "__main__":
    main()
