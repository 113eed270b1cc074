/*
 * lvw_fmt.c: the text form of libvirt domain events in lvwatch logs.
 *
 * The name tables use designated initializers indexed by libvirt's own enum
 * constants, so a table cannot drift from the header; values added by a newer
 * libvirt fall outside a table and are printed as numbers.
 */
#define _GNU_SOURCE

#include "lvw_fmt.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Room kept free at the end of every line for " truncated=1\n". */
#define LVW_LINE_RESERVE 16

static const char *const event_names[] = {
    [VIR_DOMAIN_EVENT_DEFINED] = "DEFINED",
    [VIR_DOMAIN_EVENT_UNDEFINED] = "UNDEFINED",
    [VIR_DOMAIN_EVENT_STARTED] = "STARTED",
    [VIR_DOMAIN_EVENT_SUSPENDED] = "SUSPENDED",
    [VIR_DOMAIN_EVENT_RESUMED] = "RESUMED",
    [VIR_DOMAIN_EVENT_STOPPED] = "STOPPED",
    [VIR_DOMAIN_EVENT_SHUTDOWN] = "SHUTDOWN",
    [VIR_DOMAIN_EVENT_PMSUSPENDED] = "PMSUSPENDED",
    [VIR_DOMAIN_EVENT_CRASHED] = "CRASHED",
};

static const char *const defined_details[] = {
    [VIR_DOMAIN_EVENT_DEFINED_ADDED] = "ADDED",
    [VIR_DOMAIN_EVENT_DEFINED_UPDATED] = "UPDATED",
    [VIR_DOMAIN_EVENT_DEFINED_RENAMED] = "RENAMED",
    [VIR_DOMAIN_EVENT_DEFINED_FROM_SNAPSHOT] = "FROM_SNAPSHOT",
};

static const char *const undefined_details[] = {
    [VIR_DOMAIN_EVENT_UNDEFINED_REMOVED] = "REMOVED",
    [VIR_DOMAIN_EVENT_UNDEFINED_RENAMED] = "RENAMED",
};

static const char *const started_details[] = {
    [VIR_DOMAIN_EVENT_STARTED_BOOTED] = "BOOTED",
    [VIR_DOMAIN_EVENT_STARTED_MIGRATED] = "MIGRATED",
    [VIR_DOMAIN_EVENT_STARTED_RESTORED] = "RESTORED",
    [VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT] = "FROM_SNAPSHOT",
    [VIR_DOMAIN_EVENT_STARTED_WAKEUP] = "WAKEUP",
};

static const char *const suspended_details[] = {
    [VIR_DOMAIN_EVENT_SUSPENDED_PAUSED] = "PAUSED",
    [VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED] = "MIGRATED",
    [VIR_DOMAIN_EVENT_SUSPENDED_IOERROR] = "IOERROR",
    [VIR_DOMAIN_EVENT_SUSPENDED_WATCHDOG] = "WATCHDOG",
    [VIR_DOMAIN_EVENT_SUSPENDED_RESTORED] = "RESTORED",
    [VIR_DOMAIN_EVENT_SUSPENDED_FROM_SNAPSHOT] = "FROM_SNAPSHOT",
    [VIR_DOMAIN_EVENT_SUSPENDED_API_ERROR] = "API_ERROR",
    [VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY] = "POSTCOPY",
    [VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY_FAILED] = "POSTCOPY_FAILED",
};

static const char *const resumed_details[] = {
    [VIR_DOMAIN_EVENT_RESUMED_UNPAUSED] = "UNPAUSED",
    [VIR_DOMAIN_EVENT_RESUMED_MIGRATED] = "MIGRATED",
    [VIR_DOMAIN_EVENT_RESUMED_FROM_SNAPSHOT] = "FROM_SNAPSHOT",
    [VIR_DOMAIN_EVENT_RESUMED_POSTCOPY] = "POSTCOPY",
    [VIR_DOMAIN_EVENT_RESUMED_POSTCOPY_FAILED] = "POSTCOPY_FAILED",
};

static const char *const stopped_details[] = {
    [VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN] = "SHUTDOWN",
    [VIR_DOMAIN_EVENT_STOPPED_DESTROYED] = "DESTROYED",
    [VIR_DOMAIN_EVENT_STOPPED_CRASHED] = "CRASHED",
    [VIR_DOMAIN_EVENT_STOPPED_MIGRATED] = "MIGRATED",
    [VIR_DOMAIN_EVENT_STOPPED_SAVED] = "SAVED",
    [VIR_DOMAIN_EVENT_STOPPED_FAILED] = "FAILED",
    [VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT] = "FROM_SNAPSHOT",
};

static const char *const shutdown_details[] = {
    [VIR_DOMAIN_EVENT_SHUTDOWN_FINISHED] = "FINISHED",
    [VIR_DOMAIN_EVENT_SHUTDOWN_GUEST] = "GUEST",
    [VIR_DOMAIN_EVENT_SHUTDOWN_HOST] = "HOST",
};

static const char *const pmsuspended_details[] = {
    [VIR_DOMAIN_EVENT_PMSUSPENDED_MEMORY] = "MEMORY",
    [VIR_DOMAIN_EVENT_PMSUSPENDED_DISK] = "DISK",
};

static const char *const crashed_details[] = {
    [VIR_DOMAIN_EVENT_CRASHED_PANICKED] = "PANICKED",
    [VIR_DOMAIN_EVENT_CRASHED_CRASHLOADED] = "CRASHLOADED",
};

/* State names as virsh prints them, in lower case to tell a snapshot value
 * apart from an event detail at a glance. */
static const char *const state_names[] = {
    [VIR_DOMAIN_NOSTATE] = "nostate",
    [VIR_DOMAIN_RUNNING] = "running",
    [VIR_DOMAIN_BLOCKED] = "blocked",
    [VIR_DOMAIN_PAUSED] = "paused",
    [VIR_DOMAIN_SHUTDOWN] = "shutdown",
    [VIR_DOMAIN_SHUTOFF] = "shutoff",
    [VIR_DOMAIN_CRASHED] = "crashed",
    [VIR_DOMAIN_PMSUSPENDED] = "pmsuspended",
};

static const char *const running_reasons[] = {
    [VIR_DOMAIN_RUNNING_UNKNOWN] = "UNKNOWN",
    [VIR_DOMAIN_RUNNING_BOOTED] = "BOOTED",
    [VIR_DOMAIN_RUNNING_MIGRATED] = "MIGRATED",
    [VIR_DOMAIN_RUNNING_RESTORED] = "RESTORED",
    [VIR_DOMAIN_RUNNING_FROM_SNAPSHOT] = "FROM_SNAPSHOT",
    [VIR_DOMAIN_RUNNING_UNPAUSED] = "UNPAUSED",
    [VIR_DOMAIN_RUNNING_MIGRATION_CANCELED] = "MIGRATION_CANCELED",
    [VIR_DOMAIN_RUNNING_SAVE_CANCELED] = "SAVE_CANCELED",
    [VIR_DOMAIN_RUNNING_WAKEUP] = "WAKEUP",
    [VIR_DOMAIN_RUNNING_CRASHED] = "CRASHED",
    [VIR_DOMAIN_RUNNING_POSTCOPY] = "POSTCOPY",
    [VIR_DOMAIN_RUNNING_POSTCOPY_FAILED] = "POSTCOPY_FAILED",
};

static const char *const paused_reasons[] = {
    [VIR_DOMAIN_PAUSED_UNKNOWN] = "UNKNOWN",
    [VIR_DOMAIN_PAUSED_USER] = "USER",
    [VIR_DOMAIN_PAUSED_MIGRATION] = "MIGRATION",
    [VIR_DOMAIN_PAUSED_SAVE] = "SAVE",
    [VIR_DOMAIN_PAUSED_DUMP] = "DUMP",
    [VIR_DOMAIN_PAUSED_IOERROR] = "IOERROR",
    [VIR_DOMAIN_PAUSED_WATCHDOG] = "WATCHDOG",
    [VIR_DOMAIN_PAUSED_FROM_SNAPSHOT] = "FROM_SNAPSHOT",
    [VIR_DOMAIN_PAUSED_SHUTTING_DOWN] = "SHUTTING_DOWN",
    [VIR_DOMAIN_PAUSED_SNAPSHOT] = "SNAPSHOT",
    [VIR_DOMAIN_PAUSED_CRASHED] = "CRASHED",
    [VIR_DOMAIN_PAUSED_STARTING_UP] = "STARTING_UP",
    [VIR_DOMAIN_PAUSED_POSTCOPY] = "POSTCOPY",
    [VIR_DOMAIN_PAUSED_POSTCOPY_FAILED] = "POSTCOPY_FAILED",
};

static const char *const shutoff_reasons[] = {
    [VIR_DOMAIN_SHUTOFF_UNKNOWN] = "UNKNOWN",
    [VIR_DOMAIN_SHUTOFF_SHUTDOWN] = "SHUTDOWN",
    [VIR_DOMAIN_SHUTOFF_DESTROYED] = "DESTROYED",
    [VIR_DOMAIN_SHUTOFF_CRASHED] = "CRASHED",
    [VIR_DOMAIN_SHUTOFF_MIGRATED] = "MIGRATED",
    [VIR_DOMAIN_SHUTOFF_SAVED] = "SAVED",
    [VIR_DOMAIN_SHUTOFF_FAILED] = "FAILED",
    [VIR_DOMAIN_SHUTOFF_FROM_SNAPSHOT] = "FROM_SNAPSHOT",
    [VIR_DOMAIN_SHUTOFF_DAEMON] = "DAEMON",
};

static const char *const shutdown_reasons[] = {
    [VIR_DOMAIN_SHUTDOWN_UNKNOWN] = "UNKNOWN",
    [VIR_DOMAIN_SHUTDOWN_USER] = "USER",
};

static const char *const crashed_reasons[] = {
    [VIR_DOMAIN_CRASHED_UNKNOWN] = "UNKNOWN",
    [VIR_DOMAIN_CRASHED_PANICKED] = "PANICKED",
};

static const char *const unknown_only_reasons[] = {
    [0] = "UNKNOWN",
};

static const char *const job_operations[] = {
    [VIR_DOMAIN_JOB_OPERATION_UNKNOWN] = "UNKNOWN",
    [VIR_DOMAIN_JOB_OPERATION_START] = "START",
    [VIR_DOMAIN_JOB_OPERATION_SAVE] = "SAVE",
    [VIR_DOMAIN_JOB_OPERATION_RESTORE] = "RESTORE",
    [VIR_DOMAIN_JOB_OPERATION_MIGRATION_IN] = "MIGRATION_IN",
    [VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT] = "MIGRATION_OUT",
    [VIR_DOMAIN_JOB_OPERATION_SNAPSHOT] = "SNAPSHOT",
    [VIR_DOMAIN_JOB_OPERATION_SNAPSHOT_REVERT] = "SNAPSHOT_REVERT",
    [VIR_DOMAIN_JOB_OPERATION_DUMP] = "DUMP",
    [VIR_DOMAIN_JOB_OPERATION_BACKUP] = "BACKUP",
    [VIR_DOMAIN_JOB_OPERATION_SNAPSHOT_DELETE] = "SNAPSHOT_DELETE",
};

static const char *table_get(const char *const *table, size_t n, int i)
{
    if (i < 0 || (size_t)i >= n)
        return NULL;
    return table[i];
}

#define TABLE_GET(t, i) table_get((t), ARRAY_SIZE(t), (i))

const char *lvw_event_name(int event)
{
    return TABLE_GET(event_names, event);
}

const char *lvw_event_detail_name(int event, int detail)
{
    switch (event) {
    case VIR_DOMAIN_EVENT_DEFINED:
        return TABLE_GET(defined_details, detail);
    case VIR_DOMAIN_EVENT_UNDEFINED:
        return TABLE_GET(undefined_details, detail);
    case VIR_DOMAIN_EVENT_STARTED:
        return TABLE_GET(started_details, detail);
    case VIR_DOMAIN_EVENT_SUSPENDED:
        return TABLE_GET(suspended_details, detail);
    case VIR_DOMAIN_EVENT_RESUMED:
        return TABLE_GET(resumed_details, detail);
    case VIR_DOMAIN_EVENT_STOPPED:
        return TABLE_GET(stopped_details, detail);
    case VIR_DOMAIN_EVENT_SHUTDOWN:
        return TABLE_GET(shutdown_details, detail);
    case VIR_DOMAIN_EVENT_PMSUSPENDED:
        return TABLE_GET(pmsuspended_details, detail);
    case VIR_DOMAIN_EVENT_CRASHED:
        return TABLE_GET(crashed_details, detail);
    default:
        return NULL;
    }
}

const char *lvw_state_name(int state)
{
    return TABLE_GET(state_names, state);
}

const char *lvw_state_reason_name(int state, int reason)
{
    switch (state) {
    case VIR_DOMAIN_RUNNING:
        return TABLE_GET(running_reasons, reason);
    case VIR_DOMAIN_PAUSED:
        return TABLE_GET(paused_reasons, reason);
    case VIR_DOMAIN_SHUTOFF:
        return TABLE_GET(shutoff_reasons, reason);
    case VIR_DOMAIN_SHUTDOWN:
        return TABLE_GET(shutdown_reasons, reason);
    case VIR_DOMAIN_CRASHED:
        return TABLE_GET(crashed_reasons, reason);
    case VIR_DOMAIN_NOSTATE:
    case VIR_DOMAIN_BLOCKED:
    case VIR_DOMAIN_PMSUSPENDED:
        return TABLE_GET(unknown_only_reasons, reason);
    default:
        return NULL;
    }
}

const char *lvw_job_operation_name(int operation)
{
    return TABLE_GET(job_operations, operation);
}

/* Copy s escaped into dst (cap bytes, always NUL-terminated when cap > 0);
 * with is_key, '=' is escaped too.  Returns the length the escaped text
 * needs, as snprintf does. */
static size_t escape(char *dst, size_t cap, const char *s, bool is_key)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;

    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool plain = *p > 0x20 && *p < 0x7f && *p != '%' &&
                     !(is_key && *p == '=');
        size_t need = plain ? 1 : 3;

        if (n + need < cap) {
            if (plain) {
                dst[n] = (char)*p;
            } else {
                dst[n] = '%';
                dst[n + 1] = hex[*p >> 4];
                dst[n + 2] = hex[*p & 0xf];
            }
        }
        n += need;
    }
    if (cap > 0)
        dst[n < cap ? n : cap - 1] = '\0';
    return n;
}

/* Append n bytes, or mark the line truncated and drop them (and everything
 * after) when they do not fit: a line is cut only between tokens. */
static void put_raw(lvw_line_t *l, const char *s, size_t n)
{
    if (l->truncated)
        return;
    if (l->len + n > LVW_LINE_MAX - LVW_LINE_RESERVE) {
        l->truncated = true;
        return;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

/* Append " " (when sep) and the escaped token. */
static void put_token(lvw_line_t *l, bool sep, const char *s)
{
    char tmp[LVW_LINE_MAX];
    size_t n = 0;

    if (sep)
        tmp[n++] = ' ';
    size_t need = escape(tmp + n, sizeof(tmp) - n, s, false);
    if (need >= sizeof(tmp) - n) {
        l->truncated = true;
        return;
    }
    put_raw(l, tmp, n + need);
}

void lvw_line_begin(lvw_line_t *l, uint64_t ts_ns, const char *host,
                    const char *domain, const char *event, const char *detail)
{
    char ts[32];

    l->len = 0;
    l->truncated = false;
    snprintf(ts, sizeof(ts), "%" PRIu64, ts_ns);
    put_token(l, false, ts);
    put_token(l, true, host);
    put_token(l, true, domain ? domain : "-");
    put_token(l, true, event);
    put_token(l, true, detail ? detail : "-");
}

void lvw_line_lifecycle(lvw_line_t *l, uint64_t ts_ns, const char *host,
                        const char *domain, int event, int detail)
{
    char ev_num[24], det_num[24];
    const char *ev = lvw_event_name(event);
    const char *det = lvw_event_detail_name(event, detail);

    if (!ev) {
        snprintf(ev_num, sizeof(ev_num), "EVENT_%d", event);
        ev = ev_num;
    }
    if (!det) {
        snprintf(det_num, sizeof(det_num), "DETAIL_%d", detail);
        det = det_num;
    }
    lvw_line_begin(l, ts_ns, host, domain, ev, det);
}

void lvw_line_state(lvw_line_t *l, uint64_t ts_ns, const char *host,
                    const char *domain, int state, int reason)
{
    char st_num[24];
    const char *st = lvw_state_name(state);
    const char *why = lvw_state_reason_name(state, reason);

    if (!st) {
        snprintf(st_num, sizeof(st_num), "state_%d", state);
        st = st_num;
    }
    lvw_line_begin(l, ts_ns, host, domain, "STATE", st);
    if (why)
        lvw_line_add_str(l, "reason", why);
    else
        lvw_line_addf(l, "reason", "REASON_%d", reason);
}

void lvw_line_job_completed(lvw_line_t *l, uint64_t ts_ns, const char *host,
                            const char *domain,
                            const virTypedParameter *params, int nparams)
{
    char op_num[24];
    const char *op = NULL;

    for (int i = 0; i < nparams; i++) {
        if (strcmp(params[i].field, VIR_DOMAIN_JOB_OPERATION) == 0 &&
            params[i].type == VIR_TYPED_PARAM_INT) {
            op = lvw_job_operation_name(params[i].value.i);
            if (!op) {
                snprintf(op_num, sizeof(op_num), "OPERATION_%d",
                         params[i].value.i);
                op = op_num;
            }
        }
    }
    lvw_line_begin(l, ts_ns, host, domain, "JOB_COMPLETED", op);
    lvw_line_add_params(l, params, nparams);
}

void lvw_line_add_str(lvw_line_t *l, const char *key, const char *value)
{
    char tmp[LVW_LINE_MAX];
    size_t n, need;

    /* A '=' is escaped in the key only: the first '=' of a pair always
     * splits it, so a value may hold more. */
    tmp[0] = ' ';
    need = escape(tmp + 1, sizeof(tmp) - 1, key, true);
    if (need + 2 >= sizeof(tmp)) {
        l->truncated = true;
        return;
    }
    n = 1 + need;
    tmp[n++] = '=';
    need = escape(tmp + n, sizeof(tmp) - n, value, false);
    if (need >= sizeof(tmp) - n) {
        l->truncated = true;
        return;
    }
    put_raw(l, tmp, n + need);
}

void lvw_line_addf(lvw_line_t *l, const char *key, const char *fmt, ...)
{
    char value[LVW_LINE_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(value, sizeof(value), fmt, ap);
    va_end(ap);
    lvw_line_add_str(l, key, value);
}

void lvw_line_add_params(lvw_line_t *l, const virTypedParameter *params,
                         int nparams)
{
    for (int i = 0; i < nparams; i++) {
        const virTypedParameter *p = &params[i];

        switch (p->type) {
        case VIR_TYPED_PARAM_INT:
            lvw_line_addf(l, p->field, "%d", p->value.i);
            break;
        case VIR_TYPED_PARAM_UINT:
            lvw_line_addf(l, p->field, "%u", p->value.ui);
            break;
        case VIR_TYPED_PARAM_LLONG:
            lvw_line_addf(l, p->field, "%lld", p->value.l);
            break;
        case VIR_TYPED_PARAM_ULLONG:
            lvw_line_addf(l, p->field, "%llu", p->value.ul);
            break;
        case VIR_TYPED_PARAM_DOUBLE:
            lvw_line_addf(l, p->field, "%.17g", p->value.d);
            break;
        case VIR_TYPED_PARAM_BOOLEAN:
            lvw_line_addf(l, p->field, "%d", p->value.b ? 1 : 0);
            break;
        case VIR_TYPED_PARAM_STRING:
            lvw_line_add_str(l, p->field, p->value.s ? p->value.s : "");
            break;
        default:
            lvw_line_addf(l, p->field, "type_%d", p->type);
            break;
        }
    }
}

const char *lvw_line_end(lvw_line_t *l)
{
    static const char trunc[] = " truncated=1";

    if (l->truncated) {
        /* LVW_LINE_RESERVE keeps room for this and the newline. */
        memcpy(l->buf + l->len, trunc, sizeof(trunc) - 1);
        l->len += sizeof(trunc) - 1;
    }
    l->buf[l->len++] = '\n';
    l->buf[l->len] = '\0'; /* not counted in len; handy for tests */
    return l->buf;
}
