/*
 * lvw_fmt.h: the text form of libvirt domain events in lvwatch logs.
 *
 * One log line is
 *   <ts_ns CLOCK_REALTIME> <host> <domain|-> <EVENT> <detail|-> [key=value ...]\n
 * Tokens never contain whitespace: bytes <= 0x20, >= 0x7f and '%' (and '='
 * in a key) are written as %XX, so a domain named "a b" appears as "a%20b";
 * a pair splits at its first '='.  Enum values use the
 * suffix of libvirt's C enum name (VIR_DOMAIN_EVENT_SUSPENDED_IOERROR ->
 * "IOERROR"); a value this build does not know is written as its number
 * ("DETAIL_9") so that a newer libvirt never makes a line unparsable.
 *
 * No I/O and no libvirt calls here, only formatting, so that lvw_fmt_test can
 * check every line shape without a libvirt daemon.
 */
#ifndef LVW_FMT_H
#define LVW_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libvirt/libvirt.h>

/* Longer lines are cut at a token boundary and end with " truncated=1". */
#define LVW_LINE_MAX 8192

typedef struct lvw_line {
    char buf[LVW_LINE_MAX];
    size_t len;
    bool truncated;
} lvw_line_t;

/* Names of enum values, NULL when unknown to this build. */
const char *lvw_event_name(int event);
const char *lvw_event_detail_name(int event, int detail);
const char *lvw_state_name(int state);
const char *lvw_state_reason_name(int state, int reason);
const char *lvw_job_operation_name(int operation);

/* Start a line: "<ts> <host> <domain> <event> <detail>".  domain and detail
 * may be NULL (written as "-"). */
void lvw_line_begin(lvw_line_t *l, uint64_t ts_ns, const char *host,
                    const char *domain, const char *event, const char *detail);

/* The three line heads of domain events, enum values turned into names. */
void lvw_line_lifecycle(lvw_line_t *l, uint64_t ts_ns, const char *host,
                        const char *domain, int event, int detail);
void lvw_line_state(lvw_line_t *l, uint64_t ts_ns, const char *host,
                    const char *domain, int state, int reason);
void lvw_line_job_completed(lvw_line_t *l, uint64_t ts_ns, const char *host,
                            const char *domain,
                            const virTypedParameter *params, int nparams);

/* " key=value"; the value is escaped. */
void lvw_line_add_str(lvw_line_t *l, const char *key, const char *value);
/* " key=value" from a printf format (the result is escaped too). */
void lvw_line_addf(lvw_line_t *l, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Every typed parameter as " field=value" (the JOB_COMPLETED payload). */
void lvw_line_add_params(lvw_line_t *l, const virTypedParameter *params,
                         int nparams);

/* Append the newline; returns the finished text (l->buf, l->len bytes). */
const char *lvw_line_end(lvw_line_t *l);

#endif /* LVW_FMT_H */
