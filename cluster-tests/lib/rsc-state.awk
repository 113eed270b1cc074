# rsc-state.awk: crm_mon's XML (stdin) -> one line about resource vm:
# "ROLE NODES failed=.. blocked=.. managed=.. pending=..", "absent - ..."
# if crm_mon does not list it. For ct.sh's ct_rsc_state and the bench's
# in-host steps (awk -v vm=NAME -f rsc-state.awk).
function attr(s, a,   m) {
    if (match(s, " " a "=\"[^\"]*\"")) {
        m = substr(s, RSTART + length(a) + 3, RLENGTH - length(a) - 4); return m
    }
    return ""
}
$0 ~ "<resource id=\"" vm "\"" {
    inr = 1; role = attr($0, "role"); f = attr($0, "failed"); b = attr($0, "blocked")
    m = attr($0, "managed"); p = attr($0, "pending"); nodes = ""
    if ($0 ~ /\/>[ \t]*$/) { inr = 0; done = 1 }
    next
}
inr && /<node name=/ { n = attr($0, "name"); nodes = nodes (nodes == "" ? "" : ",") n; next }
inr && /<\/resource>/ { inr = 0; done = 1 }
END {
    if (!done && role == "") { print "absent - failed=? blocked=? managed=? pending="; exit }
    printf "%s %s failed=%s blocked=%s managed=%s pending=%s\n", role, (nodes == "" ? "-" : nodes), f, b, m, p
}
