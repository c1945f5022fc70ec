#!/usr/bin/python3
"""Helpers for lab/lab.sh (run with /usr/bin/python3: needs Samba's python bindings).

Subcommands:
  secrets DIR                 write DIR/secrets.json and DIR/secrets.env with fresh random passwords
  facts LABDIR                query both DCs and write LABDIR/lab.json and LABDIR/lab.env
  check-dacl LABDIR FOREST WHICH   read ldapsearch LDIF (SD flags control) on stdin, print SDDL to
                              LABDIR/FOREST/WHICH-dacl.sddl and check the seeded ACEs (WHICH: root|staff)
"""
import base64
import json
import os
import re
import secrets
import string
import sys
import time

GET_CHANGES = "1131f6aa-9c07-11d1-f79f-00c04fc2dcd2"
GET_CHANGES_ALL = "1131f6ad-9c07-11d1-f79f-00c04fc2dcd2"

NETNS = "phslab"
FORESTS = {
    "lab1": {"realm": "LAB1.EXAMPLE.TEST", "netbios": "LAB1", "ip": "127.0.0.2"},
    "lab2": {"realm": "LAB2.EXAMPLE.TEST", "netbios": "LAB2", "ip": "127.0.0.3"},
}
SVC_OU = "OU=Service Accounts"
STAFF_OU = "OU=Staff"
EXCLUDED_OU = "OU=Excluded"
MOVED_OU = "OU=Moved"

# name -> (container relative to the base DN, scenario). Keep in sync with seed_forest in lab.sh.
ACCOUNTS = {
    "svc-direct": (SVC_OU, "both replication rights granted directly on the domain root"),
    "svc-nested": (SVC_OU, "member of PHS Inner, member of PHS Outer; PHS Outer holds both rights on the root"),
    "svc-getchanges": (SVC_OU, "DS-Replication-Get-Changes only on the root"),
    "svc-norights": (SVC_OU, "no replication rights"),
    "svc-denied": (SVC_OU, "member of PHS Allowed (both rights) and PHS Denied (explicit DENY Get-Changes-All on the root)"),
    "svc-ouonly": (SVC_OU, "both rights on OU=Staff with container-inherit, none on the root"),
    "svc-fullcontrol": (SVC_OU, "full control (A;;GA;;;SID) on the domain root"),
    "svc-disabled": (SVC_OU, "disabled account, both rights on the root"),
    "svc-mustchange": (SVC_OU, "pwdLastSet=0 (must change at next logon), both rights on the root"),
    "svc-expired": (SVC_OU, "accountExpires in the past, both rights on the root"),
    "svc-locked": (SVC_OU, "locked out by wrong-password binds (domain lockout threshold 3), both rights on the root"),
    "alice": (STAFF_OU, "normal user; mS-DS-ConsistencyGuid = objectGUID"),
    "bob": (STAFF_OU, "must change password at next logon"),
    "carol": (STAFF_OU, "disabled"),
    "dave": ("CN=Users", "member of Domain Admins"),
    # The states `phs-doctor user` judges (seed_user_states in lab.sh).
    "erin": (STAFF_OU, "accountExpires in the past (expired yesterday)"),
    "frank": (STAFF_OU, "inetOrgPerson (added over LDAP: samba-tool creates class user only)"),
    "gina": (EXCLUDED_OU, "in OU=Excluded, the OU the example export excludes"),
    "hank": (STAFF_OU, "adminDescription User_hank: Connect's default inbound rules drop the object"),
    "ivan": (MOVED_OU, "created in OU=Staff, then moved to OU=Moved"),
    "judy": (STAFF_OU, "normal; password set again at the end of seeding (the newest pwdLastSet)"),
}
GROUPS = {
    "PHS Inner": "contains svc-nested; member of PHS Outer",
    "PHS Outer": "contains PHS Inner; holds both rights on the root",
    "PHS Allowed": "contains svc-denied; holds both rights on the root",
    "PHS Denied": "contains svc-denied; explicit DENY Get-Changes-All on the root",
}
# Rights expected on the domain root per trustee: ACE strings with {sid} placeholders.
BOTH = ["(OA;;CR;%s;;{sid})" % GET_CHANGES, "(OA;;CR;%s;;{sid})" % GET_CHANGES_ALL]
ROOT_EXPECT = {
    "svc-direct": BOTH,
    "svc-getchanges": ["(OA;;CR;%s;;{sid})" % GET_CHANGES],
    "svc-disabled": BOTH,
    "svc-mustchange": BOTH,
    "svc-expired": BOTH,
    "svc-locked": BOTH,
    "PHS Outer": BOTH,
    "PHS Allowed": BOTH,
    "PHS Denied": ["(OD;;CR;%s;;{sid})" % GET_CHANGES_ALL],
}
STAFF_EXPECT = {
    "svc-ouonly": ["(OA;CI;CR;%s;;{sid})" % GET_CHANGES, "(OA;CI;CR;%s;;{sid})" % GET_CHANGES_ALL],
}
# What must NOT be on the root for these trustees (any ACE naming their SID).
ROOT_ABSENT = ["svc-nested", "svc-norights", "svc-ouonly"]
FULL_CONTROL = "svc-fullcontrol"


def base_dn(realm):
    return ",".join("DC=" + p for p in realm.lower().split("."))


def env_name(s):
    return re.sub(r"[^A-Z0-9]+", "_", s.upper()).strip("_")


def shq(v):
    return "'" + str(v).replace("'", "'\\''") + "'"


def gen_password():
    alphabet = string.ascii_letters + string.digits
    core = "".join(secrets.choice(alphabet) for _ in range(16))
    # Always satisfies AD complexity (upper, lower, digit, symbol) and never contains a user name.
    return "Lab-" + core + "-7q"


def write_atomic(path, text, mode=0o600):
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def cmd_secrets(d):
    pw = {"Administrator": gen_password()}
    for name in ACCOUNTS:
        pw[name] = gen_password()
    write_atomic(os.path.join(d, "secrets.json"), json.dumps(pw, indent=2) + "\n")
    lines = ["ADMIN_PW=" + shq(pw["Administrator"])]
    for name in ACCOUNTS:
        lines.append("PW_%s=%s" % (env_name(name), shq(pw[name])))
    write_atomic(os.path.join(d, "secrets.env"), "\n".join(lines) + "\n")


def connect(ip, password):
    from samba.samdb import SamDB
    from samba.param import LoadParm
    from samba import credentials
    import ldb

    lp = LoadParm()
    lp.load("/dev/null")  # client defaults only; never the distro smb.conf
    creds = credentials.Credentials()
    creds.guess(lp)
    creds.set_username("Administrator")
    creds.set_password(password)
    creds.set_kerberos_state(credentials.DONT_USE_KERBEROS)
    return SamDB(url="ldap://" + ip, credentials=creds, lp=lp), ldb


def sid_str(samdb, msg, attr="objectSid"):
    from samba.dcerpc import security
    from samba.ndr import ndr_unpack

    return str(ndr_unpack(security.dom_sid, msg[attr][0]))


def guid_str(msg):
    from samba.dcerpc import misc
    from samba.ndr import ndr_unpack

    return str(ndr_unpack(misc.GUID, msg["objectGUID"][0]))


def read_binds(path):
    res = {}
    if os.path.exists(path):
        for line in open(path):
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 2:
                res[parts[0]] = parts[1]
    return res


def forest_facts(labdir, name):
    cfg = FORESTS[name]
    fdir = os.path.join(labdir, name)
    pw = json.load(open(os.path.join(fdir, "secrets.json")))
    realm = cfg["realm"]
    domain = realm.lower()
    bdn = base_dn(realm)
    samdb, ldb = connect(cfg["ip"], pw["Administrator"])
    dom = samdb.search(base=bdn, scope=ldb.SCOPE_BASE, attrs=["objectSid", "objectGUID"])[0]
    binds = read_binds(os.path.join(fdir, "binds.tsv"))

    def lookup(filt):
        res = samdb.search(base=bdn, scope=ldb.SCOPE_SUBTREE, expression=filt,
                           attrs=["objectSid", "objectGUID", "userPrincipalName", "userAccountControl",
                                  "pwdLastSet", "accountExpires", "lockoutTime", "sAMAccountName",
                                  "objectClass", "adminDescription"])
        if len(res) != 1:
            raise SystemExit("lab: %s: expected exactly one object for %s, got %d" % (name, filt, len(res)))
        return res[0]

    admin = lookup("(sAMAccountName=Administrator)")
    accounts = {}
    for acct, (container, scenario) in ACCOUNTS.items():
        m = lookup("(&(objectClass=user)(sAMAccountName=%s))" % acct)
        accounts[acct] = {
            "sam": acct,
            "dn": str(m.dn),
            "sid": sid_str(samdb, m),
            "guid": guid_str(m),
            "upn": str(m.get("userPrincipalName", idx=0) or ""),
            "netbios_logon": "%s\\%s" % (cfg["netbios"], acct),
            "password": pw[acct],
            "user_account_control": int(str(m["userAccountControl"][0])),
            "pwd_last_set": int(str(m.get("pwdLastSet", idx=0) or 0)),
            "account_expires": int(str(m.get("accountExpires", idx=0) or 0)),
            "lockout_time": int(str(m.get("lockoutTime", idx=0) or 0)),
            "object_classes": [str(c) for c in m["objectClass"]],
            "admin_description": str(m.get("adminDescription", idx=0) or ""),
            "scenario": scenario,
            "simple_bind": binds.get(acct, "not measured"),
        }
    check_user_states(name, accounts)
    groups = {}
    for g, desc in GROUPS.items():
        m = lookup("(&(objectClass=group)(sAMAccountName=%s))" % g)
        groups[g] = {"sam": g, "dn": str(m.dn), "sid": sid_str(samdb, m), "description": desc}
    for g in ("Domain Admins", "Domain Users"):
        m = lookup("(&(objectClass=group)(sAMAccountName=%s))" % g)
        groups[g] = {"sam": g, "dn": str(m.dn), "sid": sid_str(samdb, m), "description": "built-in"}
    bulk = samdb.search(base="OU=Bulk Users," + bdn, scope=ldb.SCOPE_ONELEVEL,
                        expression="(objectClass=user)", attrs=["cn"])
    tls = os.path.join(fdir, "tls")
    return {
        "realm": realm,
        "netbios": cfg["netbios"],
        "domain": domain,
        "base_dn": bdn,
        "domain_sid": sid_str(samdb, dom),
        "domain_guid": guid_str(dom),
        "dc_host": "dc1." + domain,
        "dc_netbios": "DC1",
        "ip": cfg["ip"],
        "ldap_port": 389,
        "ldaps_port": 636,
        "gc_port": 3268,
        "gcs_port": 3269,
        "dns_port": 53,
        "kerberos_port": 88,
        "ldap_url": "ldap://%s:389" % cfg["ip"],
        "ldaps_url": "ldaps://%s:636" % cfg["ip"],
        "admin": {
            "user": "Administrator",
            "upn": "Administrator@" + domain,
            "netbios_logon": "%s\\Administrator" % cfg["netbios"],
            "dn": str(admin.dn),
            "sid": sid_str(samdb, admin),
            "password": pw["Administrator"],
        },
        "tls": {
            "ca_file": os.path.join(tls, "ca.pem"),
            "cert_file": os.path.join(tls, "dc.pem"),
            "key_file": os.path.join(tls, "dc.key"),
            "san": ["DNS:dc1." + domain, "DNS:" + domain, "IP:" + cfg["ip"]],
            "note": "lab CA and DC certificate made by lab.sh with openssl (SAN: DC host name, domain, IP); "
                    "trust ca_file and verify either dc1.<domain> or the IP",
        },
        "krb5_conf": os.path.join(fdir, "private", "krb5.conf"),
        "smb_conf": os.path.join(fdir, "etc", "smb.conf"),
        "pid_file": os.path.join(fdir, "run", "samba.pid"),
        "log_file": os.path.join(fdir, "log", "samba.out"),
        "ous": {
            "service_accounts": "%s,%s" % (SVC_OU, bdn),
            "staff": "%s,%s" % (STAFF_OU, bdn),
            "excluded": "%s,%s" % (EXCLUDED_OU, bdn),
            "moved": "%s,%s" % (MOVED_OU, bdn),
            "bulk_users": "OU=Bulk Users," + bdn,
        },
        "bulk_user_count": len(bulk),
        "lockout_policy": {"threshold": 3, "observation_window_min": 30, "duration_min": 0,
                           "note": "duration 0 = locked until an admin unlocks"},
        "accounts": accounts,
        "groups": groups,
    }


def check_user_states(forest, accounts):
    """The states `phs-doctor user` is tested on, as the DC now reports them:
    a seeding step that silently did nothing fails `up` here."""
    now_filetime = int((time.time() + 11644473600) * 10_000_000)
    a = accounts
    errors = []
    if not 0 < a["erin"]["account_expires"] < now_filetime:
        errors.append("erin's accountExpires is not in the past: %d" % a["erin"]["account_expires"])
    if "inetOrgPerson" not in a["frank"]["object_classes"]:
        errors.append("frank is not an inetOrgPerson: %s" % a["frank"]["object_classes"])
    if not a["gina"]["dn"].startswith("CN=gina,%s," % EXCLUDED_OU):
        errors.append("gina is not in %s: %s" % (EXCLUDED_OU, a["gina"]["dn"]))
    if a["hank"]["admin_description"] != "User_hank":
        errors.append("hank's adminDescription is %r" % a["hank"]["admin_description"])
    if not a["ivan"]["dn"].startswith("CN=ivan,%s," % MOVED_OU):
        errors.append("ivan was not moved to %s: %s" % (MOVED_OU, a["ivan"]["dn"]))
    newest = max(v["pwd_last_set"] for v in a.values())
    if a["judy"]["pwd_last_set"] != newest:
        errors.append("judy's pwdLastSet %d is not the newest (%d)" % (a["judy"]["pwd_last_set"], newest))
    if errors:
        raise SystemExit("lab: %s: %s" % (forest, "; ".join(errors)))


def cmd_facts(labdir):
    import subprocess

    version = subprocess.run(["samba", "--version"], capture_output=True, text=True).stdout.strip()
    facts = {
        "format": "phs-doctor-lab/1",
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "samba_version": version,
        "netns": NETNS,
        "exec_prefix": ["ip", "netns", "exec", NETNS],
        "rights": {"get_changes": GET_CHANGES, "get_changes_all": GET_CHANGES_ALL},
        "forests": {},
    }
    for name in FORESTS:
        facts["forests"][name] = forest_facts(labdir, name)
    write_atomic(os.path.join(labdir, "lab.json"), json.dumps(facts, indent=2) + "\n")

    env = [
        "# phs-doctor Samba lab facts (generated %s). Test-only secrets. Source me." % facts["generated_at"],
        "LAB_FORMAT=%s" % shq(facts["format"]),
        "LAB_NETNS=%s" % NETNS,
        "LAB_EXEC=%s" % shq("ip netns exec " + NETNS),
        "LAB_FORESTS=%s" % shq(" ".join(FORESTS)),
        "LAB_GET_CHANGES_GUID=%s" % GET_CHANGES,
        "LAB_GET_CHANGES_ALL_GUID=%s" % GET_CHANGES_ALL,
        "LAB_JSON=%s" % shq(os.path.join(labdir, "lab.json")),
    ]
    for name, f in facts["forests"].items():
        p = name.upper() + "_"
        kv = [
            ("REALM", f["realm"]), ("NETBIOS", f["netbios"]), ("DOMAIN", f["domain"]),
            ("BASE_DN", f["base_dn"]), ("DOMAIN_SID", f["domain_sid"]), ("DC_HOST", f["dc_host"]),
            ("IP", f["ip"]), ("LDAP_PORT", f["ldap_port"]), ("LDAPS_PORT", f["ldaps_port"]),
            ("GC_PORT", f["gc_port"]), ("DNS_PORT", f["dns_port"]),
            ("LDAP_URL", f["ldap_url"]), ("LDAPS_URL", f["ldaps_url"]),
            ("ADMIN_USER", f["admin"]["user"]), ("ADMIN_UPN", f["admin"]["upn"]),
            ("ADMIN_DN", f["admin"]["dn"]), ("ADMIN_SID", f["admin"]["sid"]),
            ("ADMIN_PASSWORD", f["admin"]["password"]),
            ("CA_FILE", f["tls"]["ca_file"]), ("CERT_FILE", f["tls"]["cert_file"]),
            ("KRB5_CONFIG", f["krb5_conf"]),
            ("OU_SERVICE_ACCOUNTS", f["ous"]["service_accounts"]), ("OU_STAFF", f["ous"]["staff"]),
            ("OU_EXCLUDED", f["ous"]["excluded"]), ("OU_MOVED", f["ous"]["moved"]),
            ("OU_BULK_USERS", f["ous"]["bulk_users"]), ("BULK_USER_COUNT", f["bulk_user_count"]),
        ]
        for acct, a in f["accounts"].items():
            q = env_name(acct) + "_"
            kv += [(q + "SAM", a["sam"]), (q + "DN", a["dn"]), (q + "SID", a["sid"]),
                   (q + "UPN", a["upn"]), (q + "PASSWORD", a["password"]), (q + "BIND", a["simple_bind"])]
        for g, a in f["groups"].items():
            q = "GROUP_" + env_name(g) + "_"
            kv += [(q + "DN", a["dn"]), (q + "SID", a["sid"])]
        env += ["%s%s=%s" % (p, k, shq(v)) for k, v in kv]
    write_atomic(os.path.join(labdir, "lab.env"), "\n".join(env) + "\n")


def parse_sd_ldif(text):
    # ldapsearch -o ldif-wrap=no output: "nTSecurityDescriptor:: <base64>"
    for line in text.splitlines():
        if line.lower().startswith("ntsecuritydescriptor::"):
            return base64.b64decode(line.split("::", 1)[1].strip())
    raise SystemExit("lab: no nTSecurityDescriptor in the LDAP answer (SD flags control not honoured?)")


def cmd_check_dacl(labdir, forest, which):
    from samba.dcerpc import security
    from samba.ndr import ndr_unpack

    raw = parse_sd_ldif(sys.stdin.read())
    sd = ndr_unpack(security.descriptor, raw)
    sddl = sd.as_sddl()
    open(os.path.join(labdir, forest, "%s-dacl.sddl" % which), "w").write(sddl + "\n")
    f = json.load(open(os.path.join(labdir, "lab.json")))["forests"][forest]
    sids = {k: v["sid"] for k, v in f["accounts"].items()}
    sids.update({k: v["sid"] for k, v in f["groups"].items()})
    aces = re.findall(r"\([^()]*\)", sddl.split("D:", 1)[1].split("S:", 1)[0])
    errors = []
    expect = ROOT_EXPECT if which == "root" else STAFF_EXPECT
    for trustee, wanted in expect.items():
        for tmpl in wanted:
            ace = tmpl.format(sid=sids[trustee])
            if ace not in aces:
                errors.append("missing %s for %s" % (ace, trustee))
    if which == "root":
        for trustee in ROOT_ABSENT:
            hits = [a for a in aces if a.endswith(";" + sids[trustee] + ")")]
            if hits:
                errors.append("unexpected ACE(s) for %s: %s" % (trustee, hits))
        # svc-getchanges must not hold Get-Changes-All.
        if "(OA;;CR;%s;;%s)" % (GET_CHANGES_ALL, sids["svc-getchanges"]) in aces:
            errors.append("svc-getchanges unexpectedly holds Get-Changes-All")
        # Full control: Samba maps GA (0x10000000) to the DS object mask 0x000F01FF when storing it
        # (SDDL RPWPCRCCDCLCLORCWOWDSDDTSW); accept either form.
        fc_sid = sids[FULL_CONTROL]
        fc = [a for a in sd.dacl.aces if str(a.trustee) == fc_sid and a.type == security.SEC_ACE_TYPE_ACCESS_ALLOWED]
        if not any(a.access_mask & 0x10000000 or (a.access_mask & 0xF01FF) == 0xF01FF for a in fc):
            errors.append("no full-control ACE for %s (found masks %s)" % (FULL_CONTROL, [hex(a.access_mask) for a in fc]))
        # The explicit deny must come before the allow it overrides (canonical order).
        deny = "(OD;;CR;%s;;%s)" % (GET_CHANGES_ALL, sids["PHS Denied"])
        allow = "(OA;;CR;%s;;%s)" % (GET_CHANGES_ALL, sids["PHS Allowed"])
        if deny in aces and allow in aces and aces.index(deny) > aces.index(allow):
            errors.append("DENY ACE for PHS Denied comes after the allow for PHS Allowed")
    if errors:
        for e in errors:
            print("lab: %s %s DACL: %s" % (forest, which, e), file=sys.stderr)
        raise SystemExit(1)
    print("%s %s DACL: %d ACEs, all seeded ACEs present (%d bytes)" % (forest, which, len(aces), len(raw)))


def main(argv):
    if len(argv) >= 2 and argv[0] == "secrets":
        cmd_secrets(argv[1])
    elif len(argv) >= 2 and argv[0] == "facts":
        cmd_facts(argv[1])
    elif len(argv) >= 4 and argv[0] == "check-dacl":
        cmd_check_dacl(argv[1], argv[2], argv[3])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
