/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "vmh_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/xmlerror.h>

static char log_tag[128] = "vmhandoff";
static bool log_syslog;
static bool log_debug;
static char last_error[512];

static const char *const level_names[] = {
	[VMH_LOG_ERR] = "ERROR",
	[VMH_LOG_WARNING] = "WARNING",
	[VMH_LOG_NOTICE] = "INFO",	/* ocf_log prints notice as INFO too */
	[VMH_LOG_INFO] = "INFO",
	[VMH_LOG_DEBUG] = "DEBUG",
};

static const int syslog_prio[] = {
	[VMH_LOG_ERR] = LOG_ERR,
	[VMH_LOG_WARNING] = LOG_WARNING,
	[VMH_LOG_NOTICE] = LOG_NOTICE,
	[VMH_LOG_INFO] = LOG_INFO,
	[VMH_LOG_DEBUG] = LOG_DEBUG,
};

void vmh_log_open(const char *tag, bool use_syslog, bool debug)
{
	snprintf(log_tag, sizeof(log_tag), "%s", tag);
	log_syslog = use_syslog;
	log_debug = debug;
	if (log_syslog)
		openlog(log_tag, LOG_PID, LOG_DAEMON);
}

void vmh_log_close(void)
{
	if (log_syslog)
		closelog();
	log_syslog = false;
}

static void log_emit(enum vmh_log_level level, const char *msg)
{
	if (level == VMH_LOG_DEBUG && !log_debug)
		return;
	if (level == VMH_LOG_ERR)
		snprintf(last_error, sizeof(last_error), "%s", msg);
	/* One write per line, so lines of concurrent agents do not interleave. */
	dprintf(STDERR_FILENO, "%s[%ld]: %s: %s\n", log_tag, (long)getpid(),
		level_names[level], msg);
	if (log_syslog)
		syslog(syslog_prio[level], "%s: %s", level_names[level], msg);
}

void vmh_log(enum vmh_log_level level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int saved_errno = errno;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_emit(level, msg);
	errno = saved_errno;
}

void vmh_log_errno(enum vmh_log_level level, int errnum, const char *fmt, ...)
{
	char msg[1024];
	size_t len;
	va_list ap;
	int saved_errno = errno;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	len = strlen(msg);
	snprintf(msg + len, sizeof(msg) - len, ": %s", strerror(errnum));
	log_emit(level, msg);
	errno = saved_errno;
}

const char *vmh_log_last_error(void)
{
	return last_error;
}

static void libvirt_error_hook(void *opaque, virErrorPtr err)
{
	(void)opaque;
	if (err && err->message)
		vmh_log(VMH_LOG_DEBUG, "libvirt: %s", err->message);
}

static void libxml_error_hook(void *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void libxml_error_hook(void *ctx, const char *fmt, ...)
{
	char msg[512];
	size_t len;
	va_list ap;

	(void)ctx;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	len = strlen(msg);
	while (len > 0 && msg[len - 1] == '\n')
		msg[--len] = '\0';
	if (len > 0)
		vmh_log(VMH_LOG_DEBUG, "libxml2: %s", msg);
}

void vmh_log_hook_libraries(void)
{
	virSetErrorFunc(NULL, libvirt_error_hook);
	xmlSetGenericErrorFunc(NULL, libxml_error_hook);
}
