#!/usr/bin/env bash
# How fast `phs-doctor audit` reads every user, against the two reads it is
# made of done by plain tools, and how much memory it needs: see
# benches/README.md, "Audit (audit.sh)". Runs as root (network namespace);
# not part of the tests or CI.
#
#   benches/audit.sh            # USERS=100000 users in the bench DC, RUNS=3
#   benches/audit.sh setup      # only provision (or check) the cached bench DC
#
# The bench DC is its own Samba domain BENCH.EXAMPLE.TEST on 127.0.0.4 in the
# network namespace phsbench, never the shared lab; it is provisioned once and
# kept under target/bench-data/audit-dc/ (delete that folder to rebuild it).
set -euo pipefail
# shellcheck source=benches/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $(id -u) == 0 ]] || { echo "benches/audit.sh runs as root (network namespace, samba)" >&2; exit 1; }
users=${USERS:-100000}
big=1000000
ns=phsbench
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
# 512), each with a mS-DS-ConsistencyGuid made from its index ("PHSB", 4 zero
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
	              f"userPrincipalName: bench{i:06}@{domain}\nuserAccountControl: 512\nmS-DS-ConsistencyGuid:: {guid}\n\n")
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
    # Offline, through Samba's module stack (SIDs, GUIDs, defaults), no fsync per entry.
    t0=$EPOCHREALTIME
    ldbadd -H "$dc/private/sam.ldb" --configfile="$dc/etc/smb.conf" --nosync "$dc/bulk.ldif" >"$dc/log/ldbadd.out"
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

if [[ ! -f $dc/ready || $(cat "$dc/ready") != "$users" ]]; then
    ensure_netns
    provision_dc
fi
say "bench DC: $(cat "$dc/bulk-took.txt")"
[[ ${1:-} != setup ]] || exit 0
