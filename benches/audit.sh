#!/usr/bin/env bash
# How fast `phs-doctor audit` reads every user, against the two reads it is
# made of done by plain tools, and how much memory it needs: see
# benches/README.md, "Audit (audit.sh)". Runs as root (network namespace);
# not part of the tests or CI.
#
#   benches/audit.sh            # USERS=100000 users in the bench DC, RUNS=3
#   RUNS=1 WARMUP=0 benches/audit.sh   # each command once (a run takes minutes at 100k)
#   benches/audit.sh setup      # only provision (or check) the cached bench DC
#
# The bench DC is its own Samba domain BENCH.EXAMPLE.TEST on 127.0.0.4 in the
# network namespace phsbench, never the shared lab; it is provisioned once and
# kept under target/bench-data/audit-dc/ (delete that folder to rebuild it).
# Env: USERS, RUNS, BENCH_DIR (lib.sh), BENCH_NS (the namespace, phsbench),
# BIG_USERS (the cloud users of the memory run, 1000000), WARMUP (0: no untimed run).
set -euo pipefail
# shellcheck source=benches/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $(id -u) == 0 ]] || { echo "benches/audit.sh runs as root (network namespace, samba)" >&2; exit 1; }
users=${USERS:-100000}
big=${BIG_USERS:-1000000}
ns=${BENCH_NS:-phsbench}
ip=127.0.0.4
realm=BENCH.EXAMPLE.TEST
netbios=BENCH
domain=bench.example.test
base=DC=bench,DC=example,DC=test
dc=$bench_dir/audit-dc
admin_dn="CN=Administrator,CN=Users,$base"
# Test-only: the bench DC listens on a loopback alias inside its own namespace.
admin_pw='Bench-Admin-Passw0rd!'
export LC_ALL=C.UTF-8

say() { printf '[audit bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
nsx() { ip netns exec "$ns" "$@"; }

# ------------------------------------------------------------ namespace + DC
# Like lab/lab.sh's ensure_netns: lo only, nothing leaves the namespace.
ensure_netns() {
    [[ -e /run/netns/$ns ]] || ip netns add "$ns"
    ip -n "$ns" link set lo up
    [[ "$(ip -n "$ns" -4 addr show dev lo)" == *"inet $ip/8 "* ]] || ip -n "$ns" addr add "$ip/8" dev lo
    nsx nft list table inet "$ns" >/dev/null 2>&1 || nsx nft -f - <<-NFT
		table inet $ns {
			chain output { type filter hook output priority 0; policy drop; oifname "lo" accept; }
			chain input { type filter hook input priority 0; policy drop; iifname "lo" accept; }
		}
	NFT
}

# A CA and a DC certificate naming the host, the domain and the IP (Samba's
# own has no subjectAltName, which rustls rejects), as lab/lab.sh's make_tls.
make_tls() {
    local d=$dc/tls
    mkdir -p "$d" && chmod 0700 "$d"
    openssl req -x509 -newkey rsa:2048 -sha256 -nodes -days 3650 -keyout "$d/ca.key" -out "$d/ca.pem" \
        -subj "/O=phs-doctor bench/CN=phs-doctor bench CA" -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -new -newkey rsa:2048 -sha256 -nodes -keyout "$d/dc.key" -out "$d/dc.csr" \
        -subj "/O=phs-doctor bench/CN=dc1.$domain" 2>/dev/null
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
        "extendedKeyUsage=serverAuth" "subjectAltName=DNS:dc1.$domain,DNS:$domain,IP:$ip" >"$d/dc.ext"
    openssl x509 -req -sha256 -days 825 -in "$d/dc.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
        -set_serial "0x$(openssl rand -hex 16)" -extfile "$d/dc.ext" -out "$d/dc.pem" 2>/dev/null
    chmod 0600 "$d/ca.key" "$d/dc.key"
    sed -i -e 's|^\[global\]$|[global]\n\ttls enabled = yes\n\ttls keyfile = '"$d"'/dc.key\n\ttls certfile = '"$d"'/dc.pem\n\ttls cafile = '"$d"'/ca.pem|' \
        "$dc/etc/smb.conf"
}

# USERS users bench000001… in OU=Bench Users, enabled (userAccountControl
# 512), password last set at the add (pwdLastSet -1: now), each with a
# mS-DS-ConsistencyGuid made from its index ("PHSB", 4 zero
# bytes, the index as 8 bytes big-endian: graph_standin gives the same).
bulk_ldif() {
    python3 - "$1" "$base" "$domain" <<-'PY'
	import base64, sys
	n, base, domain = int(sys.argv[1]), sys.argv[2], sys.argv[3]
	out = sys.stdout
	out.write(f"dn: OU=Bench Users,{base}\nobjectClass: organizationalUnit\n\n")
	for i in range(1, n + 1):
	    guid = base64.b64encode(b"PHSB" + bytes(4) + i.to_bytes(8, "big")).decode()
	    out.write(f"dn: CN=bench{i:06},OU=Bench Users,{base}\nobjectClass: user\nsAMAccountName: bench{i:06}\n"
	              f"userPrincipalName: bench{i:06}@{domain}\nuserAccountControl: 512\npwdLastSet: -1\nmS-DS-ConsistencyGuid:: {guid}\n\n")
	PY
}

provision_dc() {
    say "provisioning $realm in $dc (once; kept for later runs)"
    rm -rf "$dc"
    mkdir -p "$dc/run" "$dc/log"
    local t0=$EPOCHREALTIME
    nsx samba-tool domain provision --targetdir="$dc" --realm="$realm" --domain="$netbios" \
        --server-role=dc --dns-backend=SAMBA_INTERNAL --host-name=dc1 --host-ip="$ip" --adminpass="$admin_pw" \
        --option="interfaces=$ip" --option="bind interfaces only=yes" --option="disable netbios=yes" \
        --option="pid directory=$dc/run" --option="ncalrpc dir=$dc/run/ncalrpc" \
        --option="winbindd socket directory=$dc/run/winbindd" \
        --option="ntp signd socket directory=$dc/run/ntp_signd" --option="log file=$dc/log/log.%m" \
        >"$dc/log/provision.out" 2>&1 || { tail -n 20 "$dc/log/provision.out" >&2; exit 1; }
    # Never forward DNS off-box; simple binds on plain LDAP for ldapsearch.
    sed -i -e '/^[[:space:]]*dns forwarder[[:space:]]*=/d' \
        -e 's/^\[global\]$/[global]\n\tldap server require strong auth = no/' "$dc/etc/smb.conf"
    make_tls
    say "provisioned in $(python3 -c "print(f'{$EPOCHREALTIME - $t0:.0f}')") s; adding $users users offline"
    bulk_ldif "$users" >"$dc/bulk.ldif"
    # Offline, through Samba's module stack (SIDs, GUIDs, defaults), in one
    # transaction, no fsync. batch_mode (an ldb_connect option of the key-value
    # backend) drops the nested transaction ldb opens around each add, whose
    # index bookkeeping grows with the partition: 3 times faster at 5 000
    # users (4 ms an add instead of 12), and without it an add took 80 ms
    # once 13 000 users were in.
    t0=$EPOCHREALTIME
    ldbadd -H "$dc/private/sam.ldb" --configfile="$dc/etc/smb.conf" --nosync -o batch_mode:1 "$dc/bulk.ldif" \
        >"$dc/log/ldbadd.out"
    local took
    took=$(python3 -c "print(f'{$EPOCHREALTIME - $t0:.0f}')")
    rm -f "$dc/bulk.ldif"
    echo "$users users added by ldbadd in $took s" | tee "$dc/bulk-took.txt" >&2
    echo "$users" >"$dc/ready"
}

dc_pid=""
start_dc() {
    ensure_netns
    # A new session, so the workers share its process group and can be found.
    setsid ip netns exec "$ns" samba -s "$dc/etc/smb.conf" -F --debug-stdout -d 0 \
        </dev/null >>"$dc/log/samba.out" 2>&1 &
    dc_pid=$!
    local i
    for ((i = 0; i < 240; i++)); do
        kill -0 "$dc_pid" 2>/dev/null || { tail -n 20 "$dc/log/samba.out" >&2; echo "samba exited" >&2; exit 1; }
        if nsx ldapsearch -LLL -x -o nettimeout=3 -H "ldap://$ip" -b '' -s base defaultNamingContext >/dev/null 2>&1; then
            say "bench DC answers on ldap://$ip (samba pid $dc_pid)"
            return 0
        fi
        sleep 0.5
    done
    echo "bench DC did not answer in 120 s" >&2
    exit 1
}

# samba's tree, by PID: smbd and winbindd run in process groups of their own.
descendants() {
    ps -e -o pid=,ppid= | awk -v root="$1" '{ parent[$1] = $2 }
        END { tree[root] = 1; grew = 1
              while (grew) { grew = 0; for (p in parent) if (!(p in tree) && (parent[p] in tree)) { tree[p] = 1; grew = 1 } }
              for (p in tree) print p }'
}

stop_dc() {
    [[ -n $dc_pid ]] || return 0
    local tree i
    tree=$(descendants "$dc_pid" | tr '\n' ' ')
    kill -TERM "$dc_pid" 2>/dev/null || true
    for ((i = 0; i < 40; i++)); do kill -0 "$dc_pid" 2>/dev/null || break; sleep 0.25; done
    # shellcheck disable=SC2086 # a list of PIDs
    kill -KILL $tree 2>/dev/null || true
    dc_pid=""
}

standin_pid=""
stop_standin() {
    [[ -z $standin_pid ]] || kill "$standin_pid" 2>/dev/null || true
    [[ -z $standin_pid ]] || wait "$standin_pid" 2>/dev/null || true
    standin_pid=""
}

cleanup() {
    stop_standin
    stop_dc
    [[ ! -e /run/netns/$ns ]] || ip netns del "$ns"
}
trap cleanup EXIT
# Without these bash would die of the signal and skip the EXIT trap.
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ ! -f $dc/ready || $(cat "$dc/ready") != "$users" ]]; then
    ensure_netns
    provision_dc
fi
say "bench DC: $(cat "$dc/bulk-took.txt")"
[[ ${1:-} != setup ]] || exit 0

# ------------------------------------------------------------ binaries
target=${CARGO_TARGET_DIR:-$root/target}
say "building release binaries (phs-doctor, graph_standin)"
nice -n 10 cargo build --release -q -p phs-doctor --bin phs-doctor --example graph_standin
cli=$target/release/phs-doctor
standin=$target/release/examples/graph_standin
replay=""
replay_note=""
# audit_replay (the join/classify/CSV code on synthetic users) may not exist yet.
if nice -n 10 cargo build --release -q -p phs-doctor --example audit_replay 2>"$bench_dir/audit_replay-build.txt" \
    && [[ -x $target/release/examples/audit_replay ]]; then
    replay=$target/release/examples/audit_replay
else
    replay_note="skipped: $(grep -m1 -E '^error' "$bench_dir/audit_replay-build.txt" || echo 'build failed')"
fi
need_gnu_time

# ------------------------------------------------------------ evidence + configs
# The Connect export and [ad] section for the bench domain, by lab/make-evidence.py
# from a facts file of our own (the connector account is the DC's Administrator).
evidence=$bench_dir/audit-evidence
rm -rf "$evidence"
mkdir -p "$evidence"
python3 - "$dc" "$evidence/facts.json" "$domain" "$netbios" "$base" "$ip" "$admin_pw" <<'PY'
import json, sys
dc, out, domain, netbios, base, ip, pw = sys.argv[1:]
forest = {"domain": domain, "netbios": netbios, "base_dn": base, "ip": ip,
          "tls": {"ca_file": f"{dc}/tls/ca.pem"}, "accounts": {"Administrator": {"password": pw}}}
json.dump({"forests": {"bench": forest}}, open(out, "w"), indent=2)
PY
python3 "$root/lab/make-evidence.py" "$evidence" --facts "$evidence/facts.json" --forest bench:Administrator >/dev/null
# Samba answers a paged search's first page only once it has evaluated the
# whole search (over a minute at 100 000 users): [ad] page_timeout (default
# 5 min) bounds each page of the audit's search, not the 5 s operation timeout.
ad_config=$evidence/phs-doctor.toml
whole_config=$evidence/phs-doctor-graph.toml
secret=bench-client-secret-value
graph_section() {
    printf '\n[graph]\ntenant_id = "00000000-1111-2222-3333-444444444444"\nclient_id = "11111111-2222-3333-4444-555555555555"\n'
    printf 'flow = "client-secret"\nclient_secret_env = "PHS_BENCH_CLIENT_SECRET"\nauthority = "%s"\ngraph_url = "%s"\ntimeout = "60s"\n' "$1" "$1"
}

# ------------------------------------------------------------ the commands
start_standin() { # USERS MATCH
    stop_standin
    : >"$bench_dir/standin-url.txt"
    # Not through nsx: `ip netns exec` execs the stand-in, so $! is its PID.
    ip netns exec "$ns" "$standin" --users "$1" --match "$2" >"$bench_dir/standin-url.txt" 2>"$bench_dir/standin.log" &
    standin_pid=$!
    local i
    for ((i = 0; i < 100; i++)); do
        [[ -s $bench_dir/standin-url.txt ]] && break
        sleep 0.1
    done
    standin_url=$(cat "$bench_dir/standin-url.txt")
    [[ -n $standin_url ]] || { cat "$bench_dir/standin.log" >&2; exit 1; }
    { cat "$ad_config"; graph_section "$standin_url"; } >"$whole_config"
}

# The audit exits 1 to 3 when it found users to act on or could not judge
# some (AD alone judges none): all are a run that went through here.
audit() { # CONFIG
    nsx env PHS_BENCH_CLIENT_SECRET=$secret "$cli" audit --trust-config --allow-loopback-http --config "$1" \
        --csv /dev/null --format json || (($? <= 3))
}
audit_ad() { audit "$ad_config"; }
audit_whole() { audit "$whole_config"; }

attrs=(distinguishedName objectGUID mS-DS-ConsistencyGuid objectSid sAMAccountName userPrincipalName objectClass
    userAccountControl msDS-User-Account-Control-Computed pwdLastSet accountExpires lockoutTime adminDescription whenChanged)
# The audit's own filter (crates/sources/src/ad/user.rs USER_FILTER) and attributes, 1000 a page.
ad_read() {
    nsx ldapsearch -x -LLL -o ldif-wrap=no -H "ldap://$ip" -D "$admin_dn" -w "$admin_pw" -E pr=1000/noprompt \
        -b "$base" '(&(objectCategory=person)(objectClass=user))' "${attrs[@]}"
}
# Every page of the synced-users query, following @odata.nextLink, with the
# audit's headers, on one kept-alive connection; bodies are read, not parsed.
graph_read() {
    nsx python3 - "$standin_url" <<'PY'
import http.client, json, sys, urllib.parse
base = urllib.parse.urlsplit(sys.argv[1])
conn = http.client.HTTPConnection(base.hostname, base.port)
conn.request("POST", "/00000000-1111-2222-3333-444444444444/oauth2/v2.0/token",
             body="grant_type=client_credentials&client_id=x&client_secret=y&scope=z",
             headers={"Content-Type": "application/x-www-form-urlencoded"})
token = json.loads(conn.getresponse().read())["access_token"]
select = ("id,userPrincipalName,accountEnabled,onPremisesSyncEnabled,onPremisesImmutableId,onPremisesLastSyncDateTime,"
          "lastPasswordChangeDateTime,onPremisesSamAccountName,onPremisesDistinguishedName,onPremisesDomainName,"
          "onPremisesSecurityIdentifier,onPremisesUserPrincipalName,onPremisesProvisioningErrors,passwordPolicies")
url = f"/v1.0/users?$select={select}&$filter=onPremisesSyncEnabled%20eq%20true&$count=true&$top=999"
headers = {"Authorization": f"Bearer {token}", "ConsistencyLevel": "eventual", "Accept": "application/json"}
pages = total = 0
while url:
    conn.request("GET", url, headers=headers)
    body = conn.getresponse().read()
    pages += 1
    total += len(body)
    at = body.rfind(b'"@odata.nextLink":"')
    url = None
    if at >= 0:
        link = body[at + 19:body.index(b'"', at + 19)].decode()
        url = urllib.parse.urlsplit(link)._replace(scheme="", netloc="").geturl()
print(pages, "pages", total, "bytes")
PY
}
two_reads() { ad_read && graph_read; }

# "best worst" wall time in seconds of `runs` runs, after one untimed
# warm-up unless WARMUP=0 (at 100 000 users a run takes minutes, and the
# checking runs below have warmed the DC and the page cache already).
timed() {
    local out=$bench_dir/last-output.txt log=$bench_dir/last-stderr.txt t0 list=()
    if [[ ${WARMUP:-1} != 0 ]]; then
        "$@" >"$out" 2>"$log" || { echo "command failed: $*" >&2; cat "$log" >&2; exit 1; }
    fi
    for ((i = 0; i < runs; i++)); do
        t0=$EPOCHREALTIME
        "$@" >"$out" 2>"$log" || { echo "command failed: $*" >&2; cat "$log" >&2; exit 1; }
        list+=("$(python3 -c "print(f'{$EPOCHREALTIME - $t0:.3f}')")")
    done
    python3 -c "import sys; v = sorted(map(float, sys.argv[1:])); print(f'{v[0]:.3f} {v[-1]:.3f}')" "${list[@]}"
}
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }

# Max RSS in MB and wall time of one run of the audit (GNU time's last line:
# a first one says when the command exited non-zero).
rss_of() { # CONFIG
    local f=$bench_dir/rss.txt
    nsx /usr/bin/time -f '%M %e' -o "$f" env PHS_BENCH_CLIENT_SECRET=$secret "$cli" audit --trust-config \
        --allow-loopback-http --config "$1" --csv /dev/null --format json >"$bench_dir/rss-summary.json" 2>/dev/null || true
    tail -n 1 "$f" | awk '{ printf "%.1f MB (%s s)", $1 / 1024, $2 }'
}
# The classes of a summary, for the eye: the join must have worked. Fails
# when the audit says a source was not read whole.
classes() {
    python3 - "$1" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
# An audit of AD alone says the tenant was not configured; anything else is a read that failed.
failed = [i for i in s["incomplete"] if not (i["source"] == "the tenant" and i["why"].startswith("not configured"))]
if failed:
    sys.exit(f"the audit did not read everything: {failed}")
print(", ".join(f"{k} {v}" for k, v in sorted(s["per_class"].items())))
PY
}

# ------------------------------------------------------------ measure
start_dc
say "checking the AD side and the join (one run of each)"
t0=$EPOCHREALTIME
audit_ad >"$bench_dir/audit-ad.json"
seen=$(classes "$bench_dir/audit-ad.json")
say "AD only, $(ratio "$EPOCHREALTIME - $t0" 1) s: $seen"
start_standin "$users" "$users"
t0=$EPOCHREALTIME
audit_whole >"$bench_dir/audit-whole.json"
seen=$(classes "$bench_dir/audit-whole.json")
say "whole audit, $(ratio "$EPOCHREALTIME - $t0" 1) s: $seen"

say "timing the AD side: audit without [graph] against ldapsearch (best of $runs)"
read -r ad_best ad_worst < <(timed audit_ad)
read -r ls_best ls_worst < <(timed ad_read)
say "timing the whole audit against ldapsearch + every stand-in page (best of $runs)"
read -r whole_best whole_worst < <(timed audit_whole)
read -r reads_best reads_worst < <(timed two_reads)
say "two reads: $(tail -n 1 "$bench_dir/last-output.txt")"

say "max RSS of the whole audit at $users users"
rss_small=$(rss_of "$whole_config")
say "max RSS of the whole audit at $big cloud users ($users matching the DC)"
start_standin "$big" "$users"
rss_big=$(rss_of "$whole_config")
seen=$(classes "$bench_dir/rss-summary.json")
say "$big cloud users: $seen"
stop_standin
if [[ -n $replay ]]; then
    /usr/bin/time -f '%M %e' -o "$bench_dir/rss.txt" "$replay" "$big" >/dev/null 2>&1 || true
    rss_replay=$(tail -n 1 "$bench_dir/rss.txt" | awk '{ printf "%.1f MB (%s s)", $1 / 1024, $2 }')
else
    rss_replay=$replay_note
fi

cat <<EOF

Audit bench, $users AD users (bench DC $realm, $(cat "$dc/bulk-took.txt")), RUNS=$runs
| measure | phs-doctor audit (best-worst) | baseline (best-worst) | ratio (best) | target |
|---|---|---|---|---|
| AD side, $users users | ${ad_best}-${ad_worst} s | ldapsearch ${ls_best}-${ls_worst} s | **$(ratio "$ad_best" "$ls_best")** | ≤ 1.25 |
| whole audit, $users + $users users | ${whole_best}-${whole_worst} s | ldapsearch + Graph pages ${reads_best}-${reads_worst} s | **$(ratio "$whole_best" "$reads_best")** | ≤ 1.5 |
| max RSS, whole audit, $users users | $rss_small | | | ≤ 500 MB |
| max RSS, whole audit, $big cloud users | $rss_big | | | ≤ 500 MB |
| max RSS, audit_replay $big | $rss_replay | | | ≤ 500 MB |
EOF
