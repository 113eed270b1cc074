# shellcheck shell=bash
# s7-config: config ownership through the registry.
# - a define of a running VM on its owner (libvirt, as `virsh edit` does)
#   is pushed by that node's vmhandoffd: every host's registry holds the new
#   definition, `vmhandoff config` shows it anywhere; the guest runs on;
# - a define on a node that does not own the VM is not pushed;
# - a start on another host boots the registry's definition, although the
#   resource's config file (here one file seen by all hosts) is older;
# - `vmhandoff config VM --push FILE` while the VM is stopped, from any
#   host; the next start boots it; a push on the owner while it runs.
SC_TITLE="config ownership: a define on the owner is pushed, a start anywhere boots the registry's definition"

sc_skip() {
    [ "$CT_AGENT" = vmhandoff ] || echo "the registry is vmhandoff's (agent $CT_AGENT)"
}

_s7_digest() { ct_reg_q "$1" "vm('vm1')['xml_sha256']"; }

# every host's registry holds one digest for vm1, other than $1
_s7_digest_moved() {
    local h d first=
    for h in $CT_HOSTS; do
        d=$(_s7_digest "$h")
        [ -n "$d" ] && [ "$d" != None ] && [ "$d" != "$1" ] || return 1
        [ -z "$first" ] && first=$d
        [ "$d" = "$first" ] || return 1
    done
}

# the domain XML of vm1 with TOKEN as its description (and UUID if given)
_s7_xml() { # TOKEN [UUID]
    python3 - "$LAB_D/vms/vm1.xml" "$1" "${2:-}" <<'PY'
import sys, xml.etree.ElementTree as ET
path, token, uuid = sys.argv[1:4]
root = ET.parse(path).getroot()
for tag in ("description", "uuid") if uuid else ("description",):
    for old in root.findall(tag):
        root.remove(old)
d = ET.Element("description"); d.text = token
root.insert(1, d)
if uuid:
    u = ET.Element("uuid"); u.text = uuid
    root.insert(1, u)
sys.stdout.write(ET.tostring(root, encoding="unicode"))
PY
}

_s7_runs_with() { # HOST TOKEN: vm1 runs on HOST with TOKEN in its live XML
    ct_dom_is "$1" vm1 running && lab_exec "$1" virsh dumpxml vm1 2>/dev/null | grep -q "$2"
}

_s7_stop() {
    ct_crm crm_resource -r vm1 --meta -p target-role -v Stopped >>"$CT_OUT/run.log" 2>&1
    ct_poll 90 0.2 "vm1 stopped" ct_is_stopped vm1 &&
        ct_poll 10 0.2 "registry: vm1 stopped" ct_reg_agreed vm1 "stopped:-"
}

sc_main() {
    local bad=0 own other third h t d0 d1 sz uuid tok out rc
    ct_vm_ensure vm1 node1 || { ct_fail "vm1 running" "$(ct_rsc_state vm1)"; return 1; }
    own=$(ct_where vm1)
    for other in $CT_HOSTS; do [ "$other" != "$own" ] && break; done
    for third in $CT_HOSTS; do [ "$third" != "$own" ] && [ "$third" != "$other" ] && break; done
    ct_poll 10 0.2 "registry agrees" ct_reg_agreed vm1 "running:$own"
    d0=$(_s7_digest "$own")

    # --- a define on the owner is pushed
    tok="s7-defined-$(date +%s%N)"
    uuid=$(lab_exec "$own" virsh -q domuuid vm1 | tr -d ' \n')
    _s7_xml "$tok" "$uuid" >"$LAB_D/vms/s7-vm1-defined.xml"
    sz=$(ct_helper_log_size "$own")
    t=$(ct_now_ns)
    lab_exec "$own" virsh -q define "$LAB_D/vms/s7-vm1-defined.xml" >>"$CT_OUT/run.log" 2>&1
    if ct_poll 15 0.2 "new definition in every registry" _s7_digest_moved "$d0" &&
        ct_helper_log_since "$own" "$sz" 'vm1: defined on its owner: pushing the new definition'; then
        d1=$(_s7_digest "$own")
        ct_ok "vm1 defined on its owner $own: pushed, every host's registry holds it (sha256 ${d0:0:12} -> ${d1:0:12})"
    else
        ct_fail "vm1 defined on its owner $own: pushed to every host's registry" \
            "digests: $(for h in $CT_HOSTS; do printf '%s=%.12s ' "$h" "$(_s7_digest "$h")"; done)" \
            "$(ct_helper_log_tail "$own" "$sz" vm1)"
        bad=$((bad + 1))
    fi
    out=$(lab_exec "$third" vmhandoff config vm1 2>&1)
    if grep -q "<description>$tok</description>" <<<"$out"; then
        ct_ok "'vmhandoff config vm1' on $third shows the definition made on $own"
    else
        ct_fail "'vmhandoff config vm1' on $third shows the new definition" "$(head -c 300 <<<"$out")"
        bad=$((bad + 1))
    fi
    if ct_dom_is "$own" vm1 running; then
        ct_ok "vm1 runs on (a define changes the next boot, not the running guest)"
    else
        ct_fail "vm1 runs on after the define" "$(ct_dom_state "$own" vm1)"
        bad=$((bad + 1))
    fi

    # --- a define elsewhere is not pushed
    d1=$(_s7_digest "$own")
    sz=$(ct_helper_log_size "$other")
    _s7_xml "s7-not-owner" "$uuid" >"$LAB_D/vms/s7-vm1-elsewhere.xml"
    lab_exec "$other" virsh -q define "$LAB_D/vms/s7-vm1-elsewhere.xml" >>"$CT_OUT/run.log" 2>&1
    if ct_poll 10 0.2 "refusal logged on $other" ct_helper_log_since "$other" "$sz" \
            'vm1 was defined on this node, which does not run it' &&
        [ "$(_s7_digest "$own")" = "$d1" ] && [ "$(_s7_digest "$other")" = "$d1" ]; then
        ct_ok "vm1 defined on $other, which does not own it: not pushed (logged)"
    else
        ct_fail "a define on $other (not the owner) is not pushed" \
            "digest $(_s7_digest "$own") (was $d1)" "$(ct_helper_log_tail "$other" "$sz" vm1)"
        bad=$((bad + 1))
    fi
    lab_exec "$other" virsh -q undefine vm1 >>"$CT_OUT/run.log" 2>&1
    ct_settle 30
    ct_inv_check "defines: one copy at any instant, no reboot" s7-define "$t"

    # --- a start elsewhere boots the registry's definition
    if ! _s7_stop; then
        ct_fail "vm1 stopped and released" "$(ct_rsc_state vm1)" "$(ct_reg_all_owners vm1)"
        return 1
    fi
    if grep -q "$tok" "$LAB_D/vms/vm1.xml"; then
        ct_fail "the config file must not have the pushed definition" "$LAB_D/vms/vm1.xml"
        bad=$((bad + 1))
    fi
    if ct_vm_start vm1 "$other" && _s7_runs_with "$other" "$tok"; then
        ct_ok "started on $other: boots the registry's definition, not the older config file"
    else
        ct_fail "started on $other from the registry's definition" "$(ct_rsc_state vm1)" \
            "$(lab_exec "$other" virsh dumpxml vm1 2>&1 | grep -i -e description -e error | head -3)"
        bad=$((bad + 1))
    fi

    # --- vmhandoff config --push while it is stopped, from any host
    _s7_stop
    tok="s7-pushed-$(date +%s%N)"
    _s7_xml "$tok" "$uuid" >"$LAB_D/vms/s7-vm1-pushed.xml"
    out=$(lab_exec "$third" vmhandoff config vm1 --push "$LAB_D/vms/s7-vm1-pushed.xml" 2>&1)
    rc=$?
    if [ $rc = 0 ] && grep -q "definition pushed" <<<"$out" &&
        lab_exec "$own" vmhandoff config vm1 2>/dev/null | grep -q "$tok" &&
        ct_vm_start vm1 "$own" && _s7_runs_with "$own" "$tok"; then
        ct_ok "'vmhandoff config vm1 --push' on $third while stopped: $out; started on $own with it"
    else
        ct_fail "a push while stopped, then a start with it" "rc $rc: $out" "$(ct_rsc_state vm1)"
        bad=$((bad + 1))
    fi

    # --- a push while it runs: only on the owner; back to the config file
    out=$(lab_exec "$other" vmhandoff config vm1 --push "$LAB_D/vms/vm1.xml" 2>&1)
    rc=$?
    if [ $rc = 1 ] && grep -q "owner $own runs it" <<<"$out"; then
        ct_ok "a push on $other while $own runs vm1: refused ($out)"
    else
        ct_fail "a push on a node that does not run vm1 is refused" "rc $rc: $out"
        bad=$((bad + 1))
    fi
    out=$(lab_exec "$own" vmhandoff config vm1 --push "$LAB_D/vms/vm1.xml" 2>&1)
    rc=$?
    if [ $rc = 0 ] && grep -q "definition pushed" <<<"$out"; then
        ct_ok "a push on the owner $own while vm1 runs: $out"
    else
        ct_fail "a push on the owner while it runs" "rc $rc: $out"
        bad=$((bad + 1))
    fi
    [ $bad = 0 ]
}
