#!/usr/bin/env bash
# Samba AD DC test lab for phs-doctor: two independent forests in one network
# namespace, listening only on loopback aliases inside that namespace.
# See lab/README.md. Usage: lab/lab.sh install|up|down|purge|status|stop-dc LAB|start-dc LAB
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LAB="$REPO/.lab"
NS=phslab
FORESTS=(lab1 lab2)
PKGS=(samba-ad-dc samba-ad-provision ldb-tools ldap-utils krb5-user dnsutils nftables iproute2 openssl)
DISTRO_UNITS=(samba-ad-dc samba smbd nmbd winbind)
PY=/usr/bin/python3
export DEBIAN_FRONTEND=noninteractive
export LC_ALL=C.UTF-8

log() { printf '[lab %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { printf '[lab] ERROR: %s\n' "$*" >&2; exit 1; }
need_root() { [ "$(id -u)" = 0 ] || die "must run as root (netns + samba need CAP_NET_ADMIN)"; }

# ---------------------------------------------------------------- install
# Which distro samba services are running right now (one name per line).
distro_running() {
	local u
	if [ -d /run/systemd/system ]; then
		for u in "${DISTRO_UNITS[@]}"; do
			if systemctl is-active --quiet "$u.service" 2>/dev/null; then echo "$u"; fi
		done
	else
		# sysvinit / containers: the init scripts keep pid files in /run/samba.
		local f pid
		for f in samba smbd nmbd winbindd; do
			pid=$(cat "/run/samba/$f.pid" 2>/dev/null || true)
			if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo "$f"; fi
		done
	fi
	return 0
}

cmd_install() {
	need_root
	local missing=() p before after
	for p in "${PKGS[@]}"; do
		[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" = "install ok installed" ] || missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		log "install: all packages already installed: ${PKGS[*]}"
	else
		before=$(distro_running | sort)
		log "install: missing: ${missing[*]}"
		log "install: apt-get update"
		apt-get update -qq
		log "install: apt-get install --no-install-recommends ${PKGS[*]}"
		apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 \
			-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${PKGS[@]}" </dev/null
		after=$(distro_running | sort)
		# Stop only the services that the package install itself started.
		local started
		started=$(comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$after") | sed '/^$/d')
		if [ -n "$started" ]; then
			for p in $started; do
				log "install: stopping distro service '$p' started by the package install"
				if [ -d /run/systemd/system ]; then
					systemctl stop "$p.service"
				else
					case $p in winbindd) p=winbind ;; samba) p=samba-ad-dc ;; esac
					service "$p" stop || invoke-rc.d "$p" stop
				fi
			done
		fi
	fi
	local still
	still=$(distro_running | tr '\n' ' ')
	[ -z "$still" ] || log "install: NOTE: distro samba services were already running before install (left alone): $still"
	[ -d /usr/share/samba/setup ] || die "samba-ad-provision did not provide /usr/share/samba/setup"
	log "install: ok ($(samba --version))"
}


# ---------------------------------------------------------------- common
fdir() { echo "$LAB/$1"; }
fip() { case $1 in lab1) echo 127.0.0.2 ;; lab2) echo 127.0.0.3 ;; *) die "unknown forest '$1' (lab1|lab2)" ;; esac; }
frealm() { echo "${1^^}.EXAMPLE.TEST"; }
fnetbios() { echo "${1^^}"; }
fdomain() { echo "$1.example.test"; }
fbase() { echo "DC=$1,DC=example,DC=test"; }
nsx() { ip netns exec "$NS" "$@"; }
check_tools() {
	local t
	for t in samba samba-tool ldapsearch ldapmodify ldbadd dig nft ip setsid flock openssl; do
		command -v "$t" >/dev/null || die "'$t' not found: run 'lab/lab.sh install' first"
	done
	[ -x "$PY" ] || die "$PY not found"
	[ -d /usr/share/samba/setup ] || die "samba-ad-provision missing: run 'lab/lab.sh install' first"
}
take_lock() {
	mkdir -p "$LAB"
	exec 9>"$LAB/.lock"
	flock -w 600 9 || die "another lab.sh is running (lock $LAB/.lock)"
}
# (No "| grep -q" anywhere: with pipefail an early grep exit can fail the pipeline.)
netns_exists() { [ -e "/run/netns/$NS" ]; }

ensure_netns() {
	if ! netns_exists; then
		log "netns: creating '$NS' (lo up, 127.0.0.2/8 + 127.0.0.3/8 on lo, nft: only lo traffic)"
		ip netns add "$NS"
	fi
	ip -n "$NS" link set lo up
	local ipa
	for ipa in 127.0.0.2 127.0.0.3; do
		[[ "$(ip -n "$NS" -4 addr show dev lo)" == *"inet $ipa/8 "* ]] || ip -n "$NS" addr add "$ipa/8" dev lo
	done
	nsx nft list table inet phslab >/dev/null 2>&1 || nsx nft -f - <<-'NFT'
		table inet phslab {
			chain output { type filter hook output priority 0; policy drop; oifname "lo" accept; }
			chain input { type filter hook input priority 0; policy drop; iifname "lo" accept; }
		}
	NFT
	# The namespace must have no way out: only lo, no routes beyond loopback.
	local links
	links=$(ip -n "$NS" -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')
	[ "$links" = "lo " ] || die "netns $NS has unexpected interfaces: $links"
	[ -z "$(ip -n "$NS" route show default)" ] || die "netns $NS has a default route"
}

# PID of a running DC we started, or nothing. samba rewrites its process title, so the
# identity check is the start time recorded at launch (guards against PID reuse).
proc_start() { awk '{print $22}' "/proc/$1/stat" 2>/dev/null || true; }
dc_pid() {
	local L pid st
	L=$(fdir "$1")
	read -r pid st 2>/dev/null <"$L/run/samba.fgpid" || true
	[ -n "${pid:-}" ] || return 0
	if kill -0 "$pid" 2>/dev/null && [ "$(proc_start "$pid")" = "${st:-}" ]; then
		echo "$pid"
	fi
	return 0
}

# "pid starttime pgid" for a process and all its descendants.
proc_tree() {
	ps -e -o pid=,ppid=,pgid= | awk -v root="$1" '
		{ ppid[$1] = $2; pgid[$1] = $3; pids[NR] = $1 }
		END {
			in_tree[root] = 1; changed = 1
			while (changed) { changed = 0
				for (i in pids) { p = pids[i]; if (!(p in in_tree) && (ppid[p] in in_tree)) { in_tree[p] = 1; changed = 1 } } }
			for (p in in_tree) if (p in pgid) print p, pgid[p]
		}' | while read -r p g; do echo "$p $(proc_start "$p") $g"; done
}

rootdse() { # forest -> prints rootDSE attrs, rc!=0 if no answer
	nsx timeout 10 ldapsearch -LLL -x -o nettimeout=3 -H "ldap://$(fip "$1")" -b '' -s base \
		defaultNamingContext dnsHostName 2>/dev/null
}
dc_answers() {
	local out
	out=$(rootdse "$1") || return 1
	grep -qix "defaultNamingContext: $(fbase "$1")" <<<"$out"
}

start_dc() {
	local f=$1 L pid
	L=$(fdir "$f")
	[ -f "$L/etc/smb.conf" ] || die "$f is not provisioned ($L/etc/smb.conf missing): run 'lab/lab.sh up'"
	pid=$(dc_pid "$f")
	if [ -n "$pid" ]; then log "$f: samba already running (pid $pid)"; return 0; fi
	ensure_netns
	mkdir -p "$L/run" "$L/log"
	rm -f "$L/run/samba.pid"
	# Start samba itself in the background (not a shell function, P8), as a new session so
	# its workers share its process group; fd 9 (our lock) must not leak into it.
	setsid ip netns exec "$NS" samba -s "$L/etc/smb.conf" -F --debug-stdout -d 1 \
		</dev/null >>"$L/log/samba.out" 2>&1 9>&- &
	pid=$!
	echo "$pid $(proc_start "$pid")" >"$L/run/samba.fgpid"
	log "$f: started samba pid $pid on $(fip "$f") (log $L/log/samba.out)"
}

wait_dc() {
	local f=$1 L pid i t0=$SECONDS
	L=$(fdir "$f")
	read -r pid _ <"$L/run/samba.fgpid"
	for ((i = 0; i < 240; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -n 30 "$L/log/samba.out" >&2 || true
			die "$f: samba (pid $pid) exited during startup, see $L/log/samba.out"
		fi
		if dc_answers "$f"; then
			local wpid
			wpid=$(cat "$L/run/samba.pid" 2>/dev/null || true)
			[ "$wpid" = "$pid" ] || die "$f: samba.pid ($wpid) != recorded pid ($pid)"
			log "$f: LDAP answers after $((SECONDS - t0)) s"
			return 0
		fi
		sleep 0.5
	done
	die "$f: LDAP did not answer within 120 s, see $L/log/samba.out"
}

stop_dc() {
	local f=$1 L pid i tree p st g left
	L=$(fdir "$f")
	pid=$(dc_pid "$f")
	if [ -z "$pid" ]; then
		log "$f: samba not running"
		rm -f "$L/run/samba.fgpid"
		return 0
	fi
	# Snapshot the tree first: smbd and winbindd run in process groups of their own.
	tree=$(proc_tree "$pid")
	log "$f: SIGTERM samba pid $pid ($(wc -l <<<"$tree") processes in its tree)"
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 60; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.25
	done
	for ((i = 0; i < 20; i++)); do
		left=""
		while read -r p st g; do
			if [ -n "$p" ] && [ "$(proc_start "$p")" = "$st" ]; then left+="$p "; fi
		done <<<"$tree"
		while read -r g; do
			if [ -n "$g" ]; then left+="$(pgrep -g "$g" 2>/dev/null | tr '\n' ' ' || true)"; fi
		done < <(awk '{print $3}' <<<"$tree" | sort -u)
		if [ -z "${left// /}" ]; then break; fi
		if [ "$i" = 8 ]; then
			log "$f: SIGKILL stragglers of samba pid $pid: $left"
			# shellcheck disable=SC2086 # a list of PIDs
			kill -KILL $left 2>/dev/null || true
		fi
		sleep 0.25
	done
	[ -z "${left// /}" ] || die "$f: processes of samba pid $pid did not go away: $left"
	rm -f "$L/run/samba.fgpid"
	log "$f: stopped"
}

# ---------------------------------------------------------------- provision + seed
provision_forest() {
	local f=$1 L ip realm nb
	L=$(fdir "$f") ip=$(fip "$f") realm=$(frealm "$f") nb=$(fnetbios "$f")
	# samba creates the socket dirs itself with the permissions it insists on (ntp_signd: 0750).
	mkdir -p "$L/run" "$L/log"
	# shellcheck disable=SC1091
	. "$L/secrets.env"
	# Run inside the netns too: nothing provision does can leave loopback.
	nsx samba-tool domain provision --targetdir="$L" --realm="$realm" --domain="$nb" \
		--server-role=dc --dns-backend=SAMBA_INTERNAL --host-name=dc1 --host-ip="$ip" \
		--adminpass="$ADMIN_PW" \
		--option="interfaces=$ip" --option="bind interfaces only=yes" --option="disable netbios=yes" \
		--option="pid directory=$L/run" --option="ncalrpc dir=$L/run/ncalrpc" \
		--option="winbindd socket directory=$L/run/winbindd" \
		--option="ntp signd socket directory=$L/run/ntp_signd" --option="log file=$L/log/log.%m"
	local conf=$L/etc/smb.conf
	# P2: never forward DNS off-box.  P1: allow simple binds on plain LDAP (dropped by provision).
	sed -i -e '/^[[:space:]]*dns forwarder[[:space:]]*=/d' \
		-e 's/^\[global\]$/[global]\n\tldap server require strong auth = no/' "$conf"
	grep -q 'dns forwarder' "$conf" && { echo "dns forwarder still in $conf" >&2; return 1; }
	grep -q '^[[:space:]]*ldap server require strong auth = no$' "$conf" || { echo "P1 edit failed" >&2; return 1; }
	make_tls "$f"
	# Bulk users for audits, added offline (fast) before the first start.
	local ldif=$L/bulk.ldif i base t0=$SECONDS
	base=$(fbase "$f")
	{
		printf 'dn: OU=Bulk Users,%s\nobjectClass: organizationalUnit\n\n' "$base"
		for ((i = 1; i <= BULK_USERS; i++)); do
			printf 'dn: CN=bulk%04d,OU=Bulk Users,%s\nobjectClass: user\nsAMAccountName: bulk%04d\n' "$i" "$base" "$i"
			printf 'userPrincipalName: bulk%04d@%s\ngivenName: Bulk\nsn: User%04d\ndisplayName: Bulk User %04d\n\n' \
				"$i" "$(fdomain "$f")" "$i" "$i"
		done
	} >"$ldif"
	ldbadd -H "$L/private/sam.ldb" --configfile="$conf" --nosync "$ldif" >/dev/null
	echo "bulk: added $BULK_USERS users to OU=Bulk Users offline in $((SECONDS - t0)) s"
}

# Lab CA + DC certificate, configured in smb.conf before the first start. Samba's own
# auto-generated certificate carries the host name only in the subject CN and has no
# subjectAltName, which rustls/webpki (and any RFC 6125 client) rejects; this one names the
# DC host, the domain and the IP in the SAN, so clients can verify by name or by address.
# openssl, quiet unless it fails (key generation prints progress dots on stderr).
ossl() {
	local out
	out=$(openssl "$@" 2>&1) || { printf 'openssl %s failed:\n%s\n' "$1" "$out" >&2; return 1; }
}

make_tls() {
	local f=$1 L ip dom realm d conf
	L=$(fdir "$f") ip=$(fip "$f") dom=$(fdomain "$f") realm=$(frealm "$f")
	d=$L/tls conf=$L/etc/smb.conf
	rm -rf "$d"
	mkdir -p "$d"
	chmod 0700 "$d"
	# The CA key only signs the one DC cert; it stays next to it (test-only material).
	ossl req -x509 -newkey rsa:2048 -sha256 -nodes -days 3650 -keyout "$d/ca.key" -out "$d/ca.pem" \
		-subj "/O=phs-doctor lab/CN=phs-doctor lab CA $realm" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
		-addext "subjectKeyIdentifier=hash"
	ossl req -new -newkey rsa:2048 -sha256 -nodes -keyout "$d/dc.key" -out "$d/dc.csr" \
		-subj "/O=phs-doctor lab/CN=dc1.$dom"
	printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
		"extendedKeyUsage=serverAuth" "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" \
		"subjectAltName=DNS:dc1.$dom,DNS:$dom,IP:$ip" >"$d/dc.ext"
	ossl x509 -req -sha256 -days 825 -in "$d/dc.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
		-set_serial "0x$(openssl rand -hex 16)" -extfile "$d/dc.ext" -out "$d/dc.pem"
	rm -f "$d/dc.csr"
	# samba refuses a key file that is readable by others.
	chmod 0600 "$d/ca.key" "$d/dc.key"
	ossl verify -CAfile "$d/ca.pem" "$d/dc.pem"
	sed -i -e 's|^\[global\]$|[global]\n\ttls enabled = yes\n\ttls keyfile = '"$d"'/dc.key\n\ttls certfile = '"$d"'/dc.pem\n\ttls cafile = '"$d"'/ca.pem|' "$conf"
	grep -q "^[[:space:]]*tls certfile = $d/dc.pem\$" "$conf" || { echo "tls edit of $conf failed" >&2; return 1; }
	echo "tls: lab CA $d/ca.pem, DC cert $d/dc.pem (SAN DNS:dc1.$dom, DNS:$dom, IP:$ip)"
}

seed_forest() {
	local f=$1 L ip base dom url
	L=$(fdir "$f") ip=$(fip "$f") base=$(fbase "$f") dom=$(fdomain "$f") url="ldap://$(fip "$f")"
	# shellcheck disable=SC1091
	. "$L/secrets.env"
	local admin_dn="CN=Administrator,CN=Users,$base"
	st() { echo "+ samba-tool $1 $2 ${3:-}" >&2; nsx samba-tool "$@" -H "$url" -U "Administrator%$ADMIN_PW" --use-kerberos=off >/dev/null; }
	local svc="OU=Service Accounts" g u
	st ou create "$svc"
	st ou create "OU=Staff"
	st domain passwordsettings set --account-lockout-threshold=3 --reset-account-lockout-after=30 \
		--account-lockout-duration=0
	for g in "PHS Inner" "PHS Outer" "PHS Allowed" "PHS Denied"; do
		st group add "$g" --groupou="$svc"
	done
	for u in svc-direct svc-nested svc-getchanges svc-norights svc-denied svc-ouonly svc-fullcontrol \
		svc-disabled svc-expired svc-locked; do
		pwvar="PW_$(echo "$u" | tr 'a-z-' 'A-Z_')"
		st user create "$u" "${!pwvar}" --userou="$svc"
	done
	st user create svc-mustchange "$PW_SVC_MUSTCHANGE" --userou="$svc" --must-change-at-next-login
	st user create alice "$PW_ALICE" --userou="OU=Staff" --use-username-as-cn --given-name=Alice --surname=Anders
	st user create bob "$PW_BOB" --userou="OU=Staff" --use-username-as-cn --given-name=Bob --surname=Berg --must-change-at-next-login
	st user create carol "$PW_CAROL" --userou="OU=Staff" --use-username-as-cn --given-name=Carol --surname=Chen
	st user create dave "$PW_DAVE" --use-username-as-cn --given-name=Dave --surname=Dorn
	st group addmembers "PHS Outer" "PHS Inner"
	st group addmembers "PHS Inner" svc-nested
	st group addmembers "PHS Allowed" svc-denied
	st group addmembers "PHS Denied" svc-denied
	st group addmembers "Domain Admins" dave
	st user disable svc-disabled
	st user disable carol
	st user setexpiry svc-expired --days=-1
	seed_user_states

	# SIDs (one search), then all root ACEs in one dsacl call. dsacl inserts each ACE at the
	# front of the DACL, so the DENY (listed last) ends up first (canonical: deny before allow).
	declare -A SID
	local line name
	while IFS=$'\t' read -r name line; do SID[$name]=$line; done < <(
		nsx ldbsearch -H "$url" -U "Administrator%$ADMIN_PW" --use-kerberos=off -b "$base" \
			'(|(sAMAccountName=svc-*)(sAMAccountName=PHS *))' sAMAccountName objectSid |
			awk -v RS= -F'\n' '{ n = ""; sid = ""
				for (i = 1; i <= NF; i++) {
					if ($i ~ /^sAMAccountName: /) n = substr($i, 17)
					if ($i ~ /^objectSid: /) sid = substr($i, 12) }
				if (n != "" && sid != "") print n "\t" sid }')
	for name in svc-direct svc-getchanges svc-ouonly svc-fullcontrol svc-disabled svc-mustchange \
		svc-expired svc-locked "PHS Outer" "PHS Allowed" "PHS Denied"; do
		[ -n "${SID[$name]:-}" ] || { echo "no SID for $name" >&2; return 1; }
	done
	local GC=1131f6aa-9c07-11d1-f79f-00c04fc2dcd2 GCA=1131f6ad-9c07-11d1-f79f-00c04fc2dcd2 sddl=""
	for name in svc-direct "PHS Outer" "PHS Allowed" svc-disabled svc-mustchange svc-expired svc-locked; do
		sddl+="(OA;;CR;$GC;;${SID[$name]})(OA;;CR;$GCA;;${SID[$name]})"
	done
	sddl+="(OA;;CR;$GC;;${SID[svc-getchanges]})"
	sddl+="(A;;GA;;;${SID[svc-fullcontrol]})"
	sddl+="(OD;;CR;$GCA;;${SID[PHS Denied]})"
	st dsacl set --objectdn="$base" --sddl="$sddl"
	st dsacl set --objectdn="OU=Staff,$base" \
		--sddl="(OA;CI;CR;$GC;;${SID[svc-ouonly]})(OA;CI;CR;$GCA;;${SID[svc-ouonly]})"

	# alice: mS-DS-ConsistencyGuid = objectGUID (what Entra Connect uses as sourceAnchor).
	local guid
	guid=$(nsx ldapsearch -LLL -x -o ldif-wrap=no -H "$url" -D "$admin_dn" -w "$ADMIN_PW" \
		-b "CN=alice,OU=Staff,$base" -s base objectGUID | awk '/^objectGUID:: /{print $2}')
	[ -n "$guid" ] || { echo "no objectGUID for alice" >&2; return 1; }
	echo "+ ldapmodify alice mS-DS-ConsistencyGuid" >&2
	printf 'dn: CN=alice,OU=Staff,%s\nchangetype: modify\nreplace: mS-DS-ConsistencyGuid\nmS-DS-ConsistencyGuid:: %s\n' \
		"$base" "$guid" | nsx ldapmodify -x -H "$url" -D "$admin_dn" -w "$ADMIN_PW" >/dev/null

	# Lock svc-locked: threshold 3, so 4 wrong-password binds.
	local svcdn="OU=Service Accounts,$base"
	for i in 1 2 3 4; do
		bind_result "$f" "CN=svc-locked,$svcdn" "wrong-$i-Passw0rd!" >/dev/null
	done
	echo "+ locked svc-locked with 4 wrong-password binds" >&2

	# Measure what each account's simple bind gives (recorded in the facts file).
	: >"$L/binds.tsv"
	for u in svc-direct svc-nested svc-getchanges svc-norights svc-denied svc-ouonly svc-fullcontrol \
		svc-disabled svc-mustchange svc-expired svc-locked; do
		pwvar="PW_$(echo "$u" | tr 'a-z-' 'A-Z_')"
		printf '%s\t%s\n' "$u" "$(bind_result "$f" "CN=$u,$svcdn" "${!pwvar}")" >>"$L/binds.tsv"
	done
	printf '%s\t%s\n' alice "$(bind_result "$f" "CN=alice,OU=Staff,$base" "$PW_ALICE")" >>"$L/binds.tsv"
	printf '%s\t%s\n' bob "$(bind_result "$f" "CN=bob,OU=Staff,$base" "$PW_BOB")" >>"$L/binds.tsv"
	printf '%s\t%s\n' carol "$(bind_result "$f" "CN=carol,OU=Staff,$base" "$PW_CAROL")" >>"$L/binds.tsv"
	printf '%s\t%s\n' dave "$(bind_result "$f" "CN=dave,CN=Users,$base" "$PW_DAVE")" >>"$L/binds.tsv"
	local where
	for u in erin:OU=Staff frank:OU=Staff gina:OU=Excluded hank:OU=Staff ivan:OU=Moved; do
		where=${u#*:} u=${u%%:*} pwvar="PW_${u^^}"
		printf '%s\t%s\n' "$u" "$(bind_result "$f" "CN=$u,$where,$base" "${!pwvar}")" >>"$L/binds.tsv"
	done
	# Wrong password for a healthy account (one attempt, then a good bind resets badPwdCount).
	printf '%s\t%s\n' "(wrong password)" "$(bind_result "$f" "CN=alice,OU=Staff,$base" "not-the-Passw0rd")" >>"$L/binds.tsv"
	bind_result "$f" "CN=alice,OU=Staff,$base" "$PW_ALICE" >/dev/null
	printf '%s\t%s\n' "(unknown user)" "$(bind_result "$f" "CN=nobody,OU=Staff,$base" "not-the-Passw0rd")" >>"$L/binds.tsv"
	echo "+ measured simple-bind results -> $L/binds.tsv" >&2
	# judy last: her password is set again after everything else, so her
	# pwdLastSet is the newest of the lab's users (a change the cloud may not have yet).
	st user setpassword judy --newpassword="$PW_JUDY"
	printf '%s\t%s\n' judy "$(bind_result "$f" "CN=judy,OU=Staff,$base" "$PW_JUDY")" >>"$L/binds.tsv"
}

# The users `phs-doctor user` judges (labtool.py ACCOUNTS): one per AD state a
# rule tells apart. Called by seed_forest, with its st, nsx, base, dom, url
# and secrets; like the rest of the seeding, any failing step fails `up`.
seed_user_states() {
	local moved="OU=Moved" excluded="OU=Excluded"
	st ou create "$excluded"
	st ou create "$moved"
	st user create erin "$PW_ERIN" --userou="OU=Staff" --use-username-as-cn --given-name=Erin --surname=Eck
	st user setexpiry erin --days=-1
	st user create gina "$PW_GINA" --userou="$excluded" --use-username-as-cn --given-name=Gina --surname=Gray
	st user create hank "$PW_HANK" --userou="OU=Staff" --use-username-as-cn --given-name=Hank --surname=Hall
	st user create ivan "$PW_IVAN" --userou="OU=Staff" --use-username-as-cn --given-name=Ivan --surname=Ives
	st user move ivan "$moved,$base"
	st user create judy "$PW_JUDY" --userou="OU=Staff" --use-username-as-cn --given-name=Judy --surname=Jung
	# frank: samba-tool makes only class user; an inetOrgPerson is added over
	# LDAP (ldbadd signs and seals, so Samba accepts unicodePwd), enabled with
	# a password in the same add.
	local pw16
	pw16=$(printf '"%s"' "$PW_FRANK" | iconv -f UTF-8 -t UTF-16LE | base64 -w0)
	echo "+ ldbadd frank (inetOrgPerson)" >&2
	printf '%s\n' "dn: CN=frank,OU=Staff,$base" "objectClass: inetOrgPerson" "sAMAccountName: frank" \
		"userPrincipalName: frank@$dom" "givenName: Frank" "sn: Fox" "unicodePwd:: $pw16" \
		"userAccountControl: 512" |
		nsx ldbadd -H "$url" -U "Administrator%$ADMIN_PW" --use-kerberos=off >/dev/null
	# hank: Connect's default inbound rules drop objects whose adminDescription starts with User_.
	echo "+ ldapmodify hank adminDescription" >&2
	printf 'dn: CN=hank,OU=Staff,%s\nchangetype: modify\nreplace: adminDescription\nadminDescription: User_hank\n' \
		"$base" | nsx ldapmodify -x -H "$url" -D "CN=Administrator,CN=Users,$base" -w "$ADMIN_PW" >/dev/null
}

# Simple bind on plain LDAP; prints "ok" or e.g. "49 data 533".
bind_result() {
	local out rc
	# (ldapwhoami is no use: Samba does not implement the WhoAmI extended operation.)
	out=$(nsx timeout 15 ldapsearch -x -o nettimeout=5 -H "ldap://$(fip "$1")" -D "$2" -w "$3" \
		-b '' -s base 1.1 2>&1 >/dev/null) && { echo ok; return 0; }
	rc=$(sed -n 's/.*ldap_bind: .*(\([0-9]*\)).*/\1/p' <<<"$out" | head -n1)
	local data
	data=$(grep -o 'data [0-9a-f]*' <<<"$out" | head -n1 || true)
	echo "${rc:-?} ${data:-$(tr '\n' ' ' <<<"$out")}" | sed 's/ *$//'
}

run_parallel() { # step function lines: runs "function lab1" and "function lab2" in parallel, shows last lines of each log
	local step=$1 fn=$2 lines=$3 f rc=0 t0=$SECONDS
	declare -A P
	for f in "${FORESTS[@]}"; do
		( "$fn" "$f" ) </dev/null >"$LAB/$f.$step.log" 2>&1 9>&- &
		P[$f]=$!
	done
	for f in "${FORESTS[@]}"; do
		if wait "${P[$f]}"; then
			sed "s/^/    [$f] /" "$LAB/$f.$step.log" | tail -n "$lines" >&2
		else
			rc=1
			sed "s/^/    [$f] /" "$LAB/$f.$step.log" | tail -n 40 >&2
			log "$step: $f FAILED (full log: $LAB/$f.$step.log)"
		fi
	done
	[ $rc = 0 ] || die "$step failed"
	log "$step: both forests done in $((SECONDS - t0)) s"
}

# ---------------------------------------------------------------- verify
# openssl s_client inside the netns against ADDR:PORT with the lab CA; extra args select
# SNI / name or IP check / StartTLS. Succeeds only on "Verify return code: 0 (ok)".
tls_check() {
	local addr=$1 ca=$2 out
	shift 2
	out=$(nsx timeout 15 openssl s_client -connect "$addr" -CAfile "$ca" -verify_return_error "$@" \
		</dev/null 2>&1) || { printf '%s\n' "$out" | tail -n 5 >&2; return 1; }
	[[ "$out" == *"Verify return code: 0 (ok)"* ]] || { printf '%s\n' "$out" | tail -n 5 >&2; return 1; }
}

verify_forest() {
	local f=$1 L ip base dom out
	L=$(fdir "$f") ip=$(fip "$f") base=$(fbase "$f") dom=$(fdomain "$f")
	# shellcheck disable=SC1091
	. "$L/secrets.env"
	out=$(rootdse "$f") || die "verify $f: rootDSE does not answer on ldap://$ip"
	grep -qi "^dnsHostName: dc1.$dom$" <<<"$out" || die "verify $f: rootDSE dnsHostName wrong: $out"
	grep -qi "^defaultNamingContext: $base$" <<<"$out" || die "verify $f: rootDSE defaultNamingContext wrong: $out"
	log "verify $f: rootDSE ok (defaultNamingContext $base, dnsHostName dc1.$dom)"
	out=$(nsx dig +time=3 +tries=2 +short "@$ip" SRV "_ldap._tcp.dc._msdcs.$dom") || die "verify $f: dig failed"
	grep -qi "^0 100 389 dc1.$dom.$" <<<"$out" || die "verify $f: SRV _ldap._tcp.dc._msdcs.$dom via $ip gave '$out'"
	log "verify $f: DNS SRV _ldap._tcp.dc._msdcs.$dom -> $out"
	# TLS: the lab CA must verify the DC cert by host name and by IP, on LDAPS and StartTLS.
	local ca=$L/tls/ca.pem
	tls_check "$ip:636" "$ca" -servername "dc1.$dom" -verify_hostname "dc1.$dom" ||
		die "verify $f: LDAPS on $ip:636 does not verify as dc1.$dom with $ca"
	tls_check "$ip:636" "$ca" -verify_ip "$ip" || die "verify $f: LDAPS on $ip:636 does not verify as IP $ip with $ca"
	tls_check "$ip:389" "$ca" -starttls ldap -verify_hostname "dc1.$dom" ||
		die "verify $f: StartTLS on $ip:389 does not verify as dc1.$dom with $ca"
	log "verify $f: TLS ok (LDAPS 636 by name and IP, StartTLS 389; SAN DNS:dc1.$dom, DNS:$dom, IP:$ip)"
	local which dn
	for which in root staff; do
		dn=$base
		[ $which = staff ] && dn="OU=Staff,$base"
		nsx ldapsearch -LLL -x -o ldif-wrap=no -H "ldap://$ip" -D "CN=Administrator,CN=Users,$base" -w "$ADMIN_PW" \
			-E '!1.2.840.113556.1.4.801=::MAMCAQQ=' -b "$dn" -s base nTSecurityDescriptor |
			"$PY" "$REPO/lab/labtool.py" check-dacl "$LAB" "$f" "$which" >&2 ||
			die "verify $f: $which DACL check failed (SDDL in $L/$which-dacl.sddl)"
	done
	out=$(bind_result "$f" "CN=svc-direct,OU=Service Accounts,$base" "$PW_SVC_DIRECT")
	[ "$out" = ok ] || die "verify $f: svc-direct cannot bind: $out"
	log "verify $f: svc-direct simple bind ok"
	# svc-nested's own tokenGroups (base search) must contain PHS Outer through PHS Inner.
	local outer
	outer=$(awk -F"'" '/^'"${f^^}"'_GROUP_PHS_OUTER_SID=/{print $2}' "$LAB/lab.env")
	out=$(nsx ldbsearch -H "ldap://$ip" -U "$(fnetbios "$f")\\svc-nested%$PW_SVC_NESTED" --use-kerberos=off \
		-b "CN=svc-nested,OU=Service Accounts,$base" -s base tokenGroups) || die "verify $f: tokenGroups search failed"
	grep -qx "tokenGroups: $outer" <<<"$out" || die "verify $f: svc-nested tokenGroups lacks PHS Outer ($outer)"
	log "verify $f: svc-nested tokenGroups contains PHS Outer (nested via PHS Inner)"
	# Samba 4.17 bind sub-codes measured for this lab (see lab/README.md); a change means the lab is off.
	local want acct got
	for want in "svc-disabled=49 data 533" "svc-mustchange=49 data 773" "svc-expired=49 data 701" \
		"svc-locked=49 data 775" "svc-norights=ok"; do
		acct=${want%%=*}
		got=$(awk -F'\t' -v a="$acct" '$1==a{print $2}' "$L/binds.tsv")
		[ "$got" = "${want#*=}" ] || die "verify $f: $acct simple bind gave '$got', expected '${want#*=}'"
	done
	log "verify $f: bind sub-codes as expected (disabled 533, mustchange 773, expired 701, locked 775)"
}

# ---------------------------------------------------------------- commands
all_up() {
	local f
	[ -f "$LAB/ready" ] || return 1
	for f in "${FORESTS[@]}"; do
		[ -n "$(dc_pid "$f")" ] || return 1
		dc_answers "$f" || return 1
	done
}

# On a failed 'up', stop the DCs we started (keep .lab/ for the logs) so nothing lingers.
up_failed() {
	local rc=$? f
	[ "$rc" = 0 ] && return 0
	log "up: FAILED (exit $rc); stopping lab DCs, logs kept in $LAB"
	for f in "${FORESTS[@]}"; do stop_dc "$f" || true; done
	exit "$rc"
}

cmd_up() {
	need_root
	check_tools
	take_lock
	local t0=$SECONDS f
	if all_up; then
		log "up: lab already up (facts: $LAB/lab.json, $LAB/lab.env)"
		return 0
	fi
	if [ -f "$LAB/ready" ]; then
		# Provisioned and seeded earlier; some DC was stopped (stop-dc) or the netns vanished.
		log "up: lab is provisioned but not fully running: starting the stopped DC(s)"
		for f in "${FORESTS[@]}"; do [ -n "$(dc_pid "$f")" ] || start_dc "$f"; done
		for f in "${FORESTS[@]}"; do wait_dc "$f"; done
		log "up: ready in $((SECONDS - t0)) s"
		return 0
	fi
	log "up: provisioning a fresh lab in $LAB"
	trap up_failed EXIT
	for f in "${FORESTS[@]}"; do stop_dc "$f"; done
	rm -f "$LAB/lab.json" "$LAB/lab.env"
	for f in "${FORESTS[@]}"; do rm -rf "$(fdir "$f")" "$LAB/$f".*.log; done
	ensure_netns
	for f in "${FORESTS[@]}"; do
		mkdir -p "$(fdir "$f")"
		"$PY" "$REPO/lab/labtool.py" secrets "$(fdir "$f")"
	done
	log "up: provisioning LAB1.EXAMPLE.TEST and LAB2.EXAMPLE.TEST in parallel (+$BULK_USERS bulk users each)"
	run_parallel provision provision_forest 2
	local t1=$SECONDS
	for f in "${FORESTS[@]}"; do start_dc "$f"; done
	for f in "${FORESTS[@]}"; do wait_dc "$f"; done
	log "up: both DCs answer ($((SECONDS - t1)) s)"
	log "up: seeding accounts, groups and replication ACEs (samba-tool over LDAP, both forests in parallel)"
	run_parallel seed seed_forest 100
	log "up: writing facts"
	nsx "$PY" "$REPO/lab/labtool.py" facts "$LAB"
	for f in "${FORESTS[@]}"; do verify_forest "$f"; done
	date -u +%Y-%m-%dT%H:%M:%SZ >"$LAB/ready"
	trap - EXIT
	if cmp -s "$LAB/lab1/binds.tsv" "$LAB/lab2/binds.tsv"; then
		log "up: simple-bind results (identical in lab1 and lab2):"
		sed 's/^/    /' "$LAB/lab1/binds.tsv" >&2
	else
		for f in "${FORESTS[@]}"; do log "up: simple-bind results in $f:"; sed 's/^/    /' "$LAB/$f/binds.tsv" >&2; done
	fi
	log "up: lab ready in $((SECONDS - t0)) s. Facts: $LAB/lab.json and $LAB/lab.env"
	log "up: run clients inside the namespace: ip netns exec $NS <command>"
}

cmd_down() {
	need_root
	take_lock
	local f
	for f in "${FORESTS[@]}"; do stop_dc "$f"; done
	rm -f "$LAB/ready"
	if netns_exists; then
		log "down: deleting netns $NS"
		ip netns del "$NS"
	fi
	log "down: done"
}

cmd_purge() {
	cmd_down
	log "purge: removing $LAB"
	rm -rf "$LAB"
}

cmd_status() {
	local f pid rc=0
	if netns_exists; then log "status: netns $NS exists"; else log "status: netns $NS does not exist"; fi
	for f in "${FORESTS[@]}"; do
		pid=$(dc_pid "$f")
		if [ -n "$pid" ] && netns_exists && dc_answers "$f"; then
			echo "$f: UP   $(frealm "$f") dc1.$(fdomain "$f") ldap://$(fip "$f") answers (pid $pid)"
		else
			echo "$f: DOWN $(frealm "$f") ldap://$(fip "$f") does not answer${pid:+ (pid $pid running)}"
			rc=3
		fi
	done
	[ -f "$LAB/ready" ] && echo "facts: $LAB/lab.json $LAB/lab.env" || echo "facts: none (lab not provisioned)"
	return $rc
}

cmd_stop_dc() {
	need_root
	fip "$1" >/dev/null
	take_lock
	stop_dc "$1"
}

cmd_start_dc() {
	need_root
	fip "$1" >/dev/null
	check_tools
	take_lock
	start_dc "$1"
	wait_dc "$1"
}

BULK_USERS=${LAB_BULK_USERS:-300}
case "${1:-}" in
install) cmd_install ;;
up) cmd_up ;;
down) cmd_down ;;
purge) cmd_purge ;;
status) cmd_status ;;
stop-dc) [ $# -eq 2 ] || die "usage: $0 stop-dc lab1|lab2"; cmd_stop_dc "$2" ;;
start-dc) [ $# -eq 2 ] || die "usage: $0 start-dc lab1|lab2"; cmd_start_dc "$2" ;;
*) die "usage: $0 install|up|down|purge|status|stop-dc LAB|start-dc LAB" ;;
esac
