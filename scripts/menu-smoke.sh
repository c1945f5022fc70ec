#!/usr/bin/env bash
# Drives the interactive menu in a real terminal (tmux): main menu ->
# Troubleshoot password hash synchronization -> "does NOT work at all" runs
# the diagnosis of the broken example -> "does NOT work for a specific user
# account" for a user of its event log -> the every-user audit -> back -> Test Entra ID connectivity
# (asks for the tenant, Esc) -> Quit.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${PHS_DOCTOR_BIN:-target/debug/phs-doctor}
session="phs-menu-$$"
trap 'tmux kill-session -t "$session" 2>/dev/null || true' EXIT

tmux new-session -d -s "$session" -x 160 -y 50 \
  "env -u AZURE_TENANT_ID -u AZURE_CLIENT_ID PHS_DOCTOR_CONFIG=examples/two-forest-broken/phs-doctor.toml $bin; echo MENU-EXIT=\$?; sleep 30"

screen() { tmux capture-pane -pt "$session" -S -1000; }
wait_for() {
  for _ in $(seq 100); do
    if screen | grep -qF -- "$1"; then return 0; fi
    sleep 0.1
  done
  echo "menu smoke test: the screen never showed '$1'; it shows:" >&2
  screen >&2
  exit 1
}

keys() { tmux send-keys -t "$session" "$@"; }
# Waits for a prompt, then types the answer and Enter.
answer() {
  wait_for "$1"
  keys "$2" Enter
}

wait_for "Main menu"
keys Enter
wait_for "Password hash synchronization does NOT work at all"
keys Enter
wait_for "Result: 10 pass, 1 warn, 3 fail, 0 error, 14 skipped (exit code 2)"
wait_for "Press Enter to return to the menu"
keys Enter
# The specific-user item: the identity, then the same evidence; the user's
# event 657 line is the one verdict the server evidence alone can give.
wait_for "Password hash synchronization does NOT work for a specific user account"
keys Down Enter
answer "User (UPN" "CN=Priya Raman,OU=Employees,DC=tailspintoys,DC=com"
wait_for "Result: 1 pass, 0 warn, 0 fail, 0 error, 10 skipped (exit code 0)"
keys Enter
sleep 0.3
# The every-user audit: it asks where the rows go; the example configures
# neither AD nor the tenant, so it says so and the menu goes on.
wait_for "Audit password hash synchronization for every user"
keys Down Down Down Enter
answer "CSV file for every user's row" ""
wait_for "neither is configured"
wait_for "Press Enter to return to the menu"
keys Enter
sleep 0.3
# Back to the main menu, then "Test Entra ID connectivity": with no [graph]
# and no AZURE_* variables it asks for the tenant and the application; Esc
# goes back to the main menu without signing in.
keys Down Down Down Down Enter
sleep 0.3
keys Down Enter
answer "Tenant (id or domain" "contoso.onmicrosoft.com"
wait_for "Application (client) id"
keys Escape
sleep 0.3
keys Down Down Down Down Enter
wait_for "MENU-EXIT=0"
echo "menu smoke test: ok"
