#!/usr/bin/env python3
"""Generates a synthetic Application log in `wevtutil qe Application /f:xml` form.

One event per line (CRLF), single-quoted attributes, no root element,
chronological over many days. Mostly other providers (Service Control
Manager, MsiInstaller, ESENT, SecurityCenter, Winlogon, VSS, ADSync, ...);
about 7 % "Directory Synchronization" PHS events: 653/654 heartbeats every
30 minutes per connector, 650/656/657/651 batches when passwords change, and
now and then a 611. Deterministic for a given seed.

Usage: gen-event-log.py --size-mb 200 --out /tmp/app.xml [--seed 1] [--phs-percent 7]
"""

import argparse
import random
import uuid
from datetime import datetime, timedelta, timezone

NS = "http://schemas.microsoft.com/win/2004/08/events/event"
COMPUTER = "AADC01.contoso.com"
CONNECTORS = [
    ("contoso.com", "ae4db4cc-b16b-4eb2-acf5-837ca84e4d7d"),
    ("emea.contoso.com", "0b1e7f52-94c3-4f6c-9d27-3a5e8c6b1f40"),
]
USERS = ["Adele Vance", "Alex Wilber", "Diego Siciliani", "Grady Archie", "Isaiah Langer",
         "Johanna Lorenz", "Lee Gu", "Lidia Holloway", "Megan Bowen", "Nestor Wilke"]


def esc(s):
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("'", "&apos;").replace("\r", "&#xD;"))


def forest_info(domain, conn):
    return ("<forest-info>\r\n  <partition-name>%s</partition-name>\r\n"
            "  <connector-id>%s</connector-id>\r\n</forest-info>" % (domain, conn))


def phs_611(domain):
    return ("Password synchronization failed for domain: %s. Details: \r\n"
            "Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsException: "
            "RPC Error 8453: Replication access was denied. There was an error calling _IDL_DRSGetNCChanges.\r\n"
            "   at Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsRpcConnection.OnGetChanges(ReplicationState syncState)\r\n"
            "   at Microsoft.Online.PasswordSynchronization.DirectoryReplicationServices.DrsConnection.GetReplicationChanges(Byte[] cookie)\r\n"
            "   at Microsoft.Online.PasswordSynchronization.DeltaSynchronizationTask.SynchronizeCredentialsToCloud()\r\n"
            "   at Microsoft.Online.PasswordSynchronization.SynchronizationManager.SynchronizeDomain(String domainName)" % domain)


# Other providers: (provider attrs, id, qualifiers, level, task, data strings generator)
def other_events(rng):
    svc = rng.choice(["Windows Update", "Microsoft Azure AD Sync", "Background Intelligent Transfer Service",
                      "WinHTTP Web Proxy Auto-Discovery Service", "Windows Modules Installer"])
    state = rng.choice(["running", "stopped"])
    pid = rng.randint(400, 9000)
    return [
        (10, "Name='Service Control Manager' Guid='{555908d1-a6d7-4695-8e1e-26931d2012f4}' EventSourceName='Service Control Manager'",
         7036, 16384, 4, 0, [svc, state, "5700%d" % rng.randint(0, 9)]),
        (3, "Name='MsiInstaller'", 1033, 0, 4, 0,
         ["Microsoft Azure AD Connect synchronization services", "2.3.%d.0" % rng.randint(2, 20), "1033",
          "0", "Microsoft Corporation", "(NULL)", ""]),
        (3, "Name='MsiInstaller'", 11707, 0, 4, 0,
         ["Product: Microsoft Azure AD Connect Health agent for sync -- Installation completed successfully.",
          "(NULL)", "(NULL)", "(NULL)", "(NULL)", "(NULL)", ""]),
        (12, "Name='ESENT'", 326, 0, 4, 1,
         ["svchost", "%d,D,50" % pid, "", "1", "C:\\Windows\\system32\\LogFiles\\Sum\\Svc.mdb", "0", "0 0"]),
        (12, "Name='ESENT'", 327, 0, 4, 1,
         ["svchost", "%d,D,50" % pid, "", "1", "C:\\Windows\\system32\\LogFiles\\Sum\\Svc.mdb", "0", "0 0", "0 0"]),
        (8, "Name='SecurityCenter'", 15, 0, 4, 0, ["Windows Defender", "SECURITY_PRODUCT_STATE_ON"]),
        (5, "Name='Microsoft-Windows-Winlogon' Guid='{dbe9b383-7cf3-4331-91cc-a3cb16a3b538}' EventSourceName='Wlclntfy'",
         6000, 32768, 4, 0, ["SessionEnv"]),
        (4, "Name='VSS'", 8224, 0, 4, 0, []),
        (8, "Name='Microsoft-Windows-Security-SPP' Guid='{E23B33B0-C8C9-472C-A5F9-F2BDFEA0F156}' EventSourceName='Software Protection Platform Service'",
         16384, 16384, 4, 0, ["2125-05-06T10:11:12Z", "RulesEngine"]),
        (12, "Name='ADSync'", 904, 0, 4, 1,
         ["Scheduler::SchedulerThreadMain : Started sync cycle Delta. Next synchronization cycle is scheduled in 30 minutes."]),
        (6, "Name='ADSync'", 906, 0, 4, 3,
         ["Internal Connector run settings: \r\nSynchronization run profile 'Delta Import' on connector 'contoso.com' "
          "completed. Objects imported: %d, exported: 0." % rng.randint(0, 40)]),
        (2, "Name='Microsoft-Windows-RestartManager' Guid='{0888e5ef-9b98-4695-979d-e92ce4247224}'", 10000, None, 4, 0,
         ["%d" % pid, "2024-05-06T10:11:12.000000000Z"]),
        (1, "Name='Application Error'", 1000, 0, 2, 100,
         ["miiserver.exe", "2.3.6.0", "65f1a2b3", "KERNELBASE.dll", "10.0.17763.5820", "e0434352", "0x000000000003b699",
          "%x" % pid, "01da9f7d0a5b2c11", "C:\\Program Files\\Microsoft Azure AD Sync\\Bin\\miiserver.exe",
          "C:\\Windows\\System32\\KERNELBASE.dll", str(uuid.UUID(int=rng.getrandbits(128))), "", ""]),
    ]


def record(provider_attrs, eid, qual, level, task, datas, when, rid):
    q = "" if qual is None else " Qualifiers='%d'" % qual
    ts = when.strftime("%Y-%m-%dT%H:%M:%S") + ".%09dZ" % (when.microsecond * 1000)
    data = "".join("<Data>%s</Data>" % esc(d) for d in datas)
    return ("<Event xmlns='%s'><System><Provider %s/><EventID%s>%d</EventID><Version>0</Version>"
            "<Level>%d</Level><Task>%d</Task><Opcode>0</Opcode><Keywords>0x80000000000000</Keywords>"
            "<TimeCreated SystemTime='%s'/><EventRecordID>%d</EventRecordID><Correlation/>"
            "<Execution ProcessID='0' ThreadID='0'/><Channel>Application</Channel><Computer>%s</Computer>"
            "<Security/></System><EventData>%s</EventData></Event>\r\n"
            % (NS, provider_attrs, q, eid, level, task, ts, rid, COMPUTER, data))


def phs(eid, level, text, when, rid):
    return record("Name='Directory Synchronization'", eid, 0, level, 0, [text], when, rid)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=float, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--phs-percent", type=float, default=7.0, help="share of Directory Synchronization records")
    ap.add_argument("--start", default="2024-01-01T00:00:00")
    args = ap.parse_args()

    rng = random.Random(args.seed)
    target = int(args.size_mb * 1024 * 1024)
    when = datetime.fromisoformat(args.start).replace(tzinfo=timezone.utc)
    # Heartbeats come every 30 min per connector; other records fill the gap so
    # that PHS records are about phs-percent of all.
    phs_per_half_hour = 2 * len(CONNECTORS) + 1.2
    others_per_half_hour = phs_per_half_hour * (100 - args.phs_percent) / args.phs_percent
    step = timedelta(minutes=30) / (others_per_half_hour + 1)
    next_ping = when
    rid = 1
    written = 0
    counts = {"phs": 0, "other": 0}
    with open(args.out, "w", encoding="utf-8", newline="") as out:
        chunk = []
        while written < target:
            if when >= next_ping:
                lines = []
                for domain, conn in CONNECTORS:
                    track = str(uuid.UUID(int=rng.getrandbits(128)))
                    fi = forest_info(domain, conn)
                    lines.append((653, 4, "Provision credentials ping start.  TrackingID : %s\r\n%s" % (track, fi)))
                    lines.append((654, 4, "Provision credentials ping end.  TrackingID : %s\r\n%s" % (track, fi)))
                    if rng.random() < 0.15:
                        user = rng.choice(USERS)
                        anchor = "%022x==" % rng.getrandbits(88)
                        dn = "CN=%s,OU=Users,OU=Sales,DC=%s" % (user, ",DC=".join(domain.split(".")))
                        lines.append((650, 4, "Provision credentials batch start.  TrackingID : %s\r\nCount: 1\r\n%s" % (track, fi)))
                        lines.append((656, 4, "Password Change Request - Anchor : %s, Dn : %s, Change Date : %s\r\n%s"
                                      % (anchor, dn, when.strftime("%m/%d/%Y %H:%M:%S"), fi)))
                        lines.append((657, 4, "Password Change Result - Anchor : %s, Dn : %s, PwdChangeOnLogon=False, Result : Success.\r\n%s"
                                      % (anchor, dn, fi)))
                        lines.append((651, 4, "Provision credentials batch end.  TrackingID : %s\r\nCount: 1\r\n%s" % (track, fi)))
                    if rng.random() < 0.02:
                        lines.append((611, 2, phs_611(domain)))
                for eid, level, text in lines:
                    when += timedelta(milliseconds=rng.randint(5, 900))
                    chunk.append(phs(eid, level, text, when, rid))
                    rid += 1
                    counts["phs"] += 1
                next_ping += timedelta(minutes=30)
            else:
                choices = other_events(rng)
                weights = [c[0] for c in choices]
                _, attrs, eid, qual, level, task, datas = rng.choices(choices, weights)[0]
                chunk.append(record(attrs, eid, qual, level, task, datas, when, rid))
                rid += 1
                counts["other"] += 1
            when += step * rng.uniform(0.5, 1.5)
            if len(chunk) >= 2000:
                text = "".join(chunk)
                out.write(text)
                written += len(text.encode("utf-8"))
                chunk = []
        if chunk:
            text = "".join(chunk)
            out.write(text)
            written += len(text.encode("utf-8"))
    total = counts["phs"] + counts["other"]
    print("wrote %s: %.1f MB, %d records (%d Directory Synchronization, %.1f %%), %s .. %s"
          % (args.out, written / 1048576, total, counts["phs"], 100.0 * counts["phs"] / max(total, 1),
             args.start, when.isoformat()))


if __name__ == "__main__":
    main()
