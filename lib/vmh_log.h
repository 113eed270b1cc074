/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmh_log: the one logging module of vmhandoff.
 *
 * Level policy (as sanlock's log.h states it):
 *   VMH_LOG_ERR     something failed that should not have; the operator must
 *                   look at it (an action is about to return an error code).
 *   VMH_LOG_WARNING something unexpected that we recovered from or that may
 *                   need attention (a paused domain, a fallback taken).
 *   VMH_LOG_NOTICE  state changes the operator cares about (started,
 *                   migrated, stopped) - one or two lines per action.
 *   VMH_LOG_INFO    progress of long operations (migration progress).
 *   VMH_LOG_DEBUG   everything else; only printed when OCF_TRACE_RA or
 *                   VMH_DEBUG is set, or HA_debug=1.
 *
 * Lines look like the ones ocf_log writes, which pacemaker users grep for:
 *   VirtualDomain(vm1)[1234]: INFO: vm1: migration 40% ...
 * Each goes to stderr (pacemaker-execd records it in pacemaker.log) and to
 * syslog with the LOG_DAEMON facility.
 */
#ifndef VMH_LOG_H
#define VMH_LOG_H

#include <stdbool.h>

enum vmh_log_level {
	VMH_LOG_ERR,
	VMH_LOG_WARNING,
	VMH_LOG_NOTICE,
	VMH_LOG_INFO,
	VMH_LOG_DEBUG,
};

/* tag: the "VirtualDomain(rsc)" part; copied. */
void vmh_log_open(const char *tag, bool use_syslog, bool debug);
void vmh_log_close(void);

void vmh_log(enum vmh_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Like vmh_log, with ": strerror(errnum)" appended. */
void vmh_log_errno(enum vmh_log_level level, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Routes libvirt's and libxml2's error callbacks into vmh_log, so their
 * messages appear once, at debug level (the caller logs the error it
 * returns with context at its own level). */
void vmh_log_hook_libraries(void);

/* Keep a copy of the last error line, for the OCF exit reason. */
const char *vmh_log_last_error(void);

#endif
