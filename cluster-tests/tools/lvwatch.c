/*
 * lvwatch: log the libvirt life of every domain of one (simulated) host, one
 * line per event, for the cluster tests' invariant checker (invariants.py).
 *
 *   lvwatch --host NAME --log FILE [--uri URI] [--keepalive SEC,COUNT]
 *           [--alive-ms MS] [-v]
 *
 * Line format: see lvw_fmt.h and README.md beside this file.  Host-level
 * lines use "-" as the domain:
 *   LVWATCH started|alive|stopped   this process (alive every --alive-ms, so
 *                                   a log cut off by a host power-off shows
 *                                   where the view ended)
 *   LIBVIRTD connected|lost         the view starts / ends
 *   <dom> STATE <state> reason=..   snapshot after every connect, closed by
 *   SNAPSHOT done domains=N         (domains not listed do not exist there)
 *
 * NOTE libvirt behaviour this program works around or exposes:
 * - The close callback runs with libvirt's close-callback lock held: calling
 *   virConnectUnregisterCloseCallback or virConnectClose from inside it
 *   deadlocks.  It only records the reason and arms a zero timer; teardown
 *   and reconnect run from timers in the same loop.
 * - Events carry no time: the timestamp is when lvwatch receives the event
 *   (CLOCK_REALTIME; every simulated host shares the machine's clock).
 * - Event callbacks are registered before the snapshot is read, so a change
 *   racing the snapshot is never lost; it may be logged after a STATE line
 *   that already shows its effect.
 * - "STARTED MIGRATED" is sent when the incoming QEMU is started (migration
 *   Prepare), while that domain is still paused: it is not a resume.
 * - virConnectOpen blocks.  A dead libvirtd fails it at once (the retry loop
 *   is <= 200 ms between attempts), but a stopped (SIGSTOP) one accepts the
 *   socket and never answers: the attempt hangs until it runs again, and
 *   SIGTERM waits as well.  A hung daemon on an open connection is caught by
 *   keepalive (default 2 s x 3, so within about 8 s).
 * - Local drivers (test:///default) do not support keepalive: a note on
 *   stderr, then the program runs on without it.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "lvw_fmt.h"

#define LVW_DEFAULT_URI "qemu:///system"
#define LVW_BACKOFF_FIRST_MS 10
#define LVW_BACKOFF_MAX_MS 200 /* the promise: never longer between attempts */

enum { CB_LIFECYCLE, CB_MIGRATION_ITERATION, CB_JOB_COMPLETED, CB_COUNT };

struct lvw_opts {
    const char *host;
    const char *log_path;
    const char *uri;
    int ka_interval; /* seconds; 0 = leave keepalive alone */
    unsigned ka_count;
    int alive_ms; /* 0 = no LVWATCH alive lines */
    bool verbose;
};

typedef struct lvwatch {
    struct lvw_opts o;
    int log_fd;
    virConnectPtr conn;
    int cb_id[CB_COUNT]; /* -1 = not registered */
    bool close_cb;
    virConnectPtr closed_conn; /* set by the close callback */
    int close_reason;
    bool lost_logged; /* "LIBVIRTD lost" written since the last connect */
    int lost_timer, retry_timer, alive_timer;
    int backoff_ms;
    unsigned attempts;
    int sig_fd, sig_watch;
    int exit_signal; /* set: leave the loop */
    int exit_code;
} lvwatch_t;

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void lvw_warnx(const lvwatch_t *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void lvw_warnx(const lvwatch_t *w, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "lvwatch[%s]: ", w->o.host ? w->o.host : "?");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static const char *virt_errmsg(void)
{
    const char *m = virGetLastErrorMessage();

    return m ? m : "unknown libvirt error";
}

/* libvirt prints every error on stderr by default: one line per failed
 * reconnect attempt.  lvwatch reports what matters itself. */
static void quiet_libvirt_errors(void *opaque, virErrorPtr err)
{
    (void)opaque;
    (void)err;
}

/* One write(2) per line on an O_APPEND fd: appended whole, nothing buffered
 * in this process, so a killed lvwatch loses no line it logged. */
static void lvw_emit(lvwatch_t *w, lvw_line_t *l)
{
    const char *p = lvw_line_end(l);
    size_t left = l->len;

    while (left > 0) {
        ssize_t n = write(w->log_fd, p, left);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            lvw_warnx(w, "%s: write %s: %s", __func__, w->o.log_path,
                      strerror(errno));
            w->exit_code = 1;
            w->exit_signal = -1;
            return;
        }
        p += n;
        left -= (size_t)n;
    }
}

static void lvw_host_line(lvwatch_t *w, const char *event, const char *detail,
                          const char *key, const char *value)
{
    lvw_line_t l;

    lvw_line_begin(&l, now_ns(), w->o.host, NULL, event, detail);
    if (key)
        lvw_line_add_str(&l, key, value);
    lvw_emit(w, &l);
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event,
                        int detail, void *opaque)
{
    lvwatch_t *w = opaque;
    lvw_line_t l;

    if (conn != w->conn)
        return 0;
    lvw_line_lifecycle(&l, now_ns(), w->o.host, virDomainGetName(dom), event,
                       detail);
    lvw_emit(w, &l);
    return 0;
}

static void on_migration_iteration(virConnectPtr conn, virDomainPtr dom,
                                   int iteration, void *opaque)
{
    lvwatch_t *w = opaque;
    lvw_line_t l;

    if (conn != w->conn)
        return;
    lvw_line_begin(&l, now_ns(), w->o.host, virDomainGetName(dom),
                   "MIGRATION_ITERATION", NULL);
    lvw_line_addf(&l, "iteration", "%d", iteration);
    lvw_emit(w, &l);
}

static void on_job_completed(virConnectPtr conn, virDomainPtr dom,
                             virTypedParameterPtr params, int nparams,
                             void *opaque)
{
    lvwatch_t *w = opaque;
    lvw_line_t l;

    if (conn != w->conn)
        return;
    lvw_line_job_completed(&l, now_ns(), w->o.host, virDomainGetName(dom),
                           params, nparams);
    lvw_emit(w, &l);
}

static void on_close(virConnectPtr conn, int reason, void *opaque)
{
    lvwatch_t *w = opaque;

    /* See the NOTE at the top: no teardown from in here. */
    w->closed_conn = conn;
    w->close_reason = reason;
    virEventUpdateTimeout(w->lost_timer, 0);
}

static const char *close_reason_name(int reason)
{
    switch (reason) {
    case VIR_CONNECT_CLOSE_REASON_ERROR:
        return "error";
    case VIR_CONNECT_CLOSE_REASON_EOF:
        return "eof";
    case VIR_CONNECT_CLOSE_REASON_KEEPALIVE:
        return "keepalive";
    case VIR_CONNECT_CLOSE_REASON_CLIENT:
        return "client";
    default:
        return "unknown";
    }
}

/* Drop the connection.  Deregistering on a dead connection fails (the RPC
 * cannot be sent); the local registration is gone all the same. */
static void lvw_teardown(lvwatch_t *w)
{
    if (!w->conn)
        return;
    for (int i = 0; i < CB_COUNT; i++) {
        if (w->cb_id[i] >= 0)
            virConnectDomainEventDeregisterAny(w->conn, w->cb_id[i]);
        w->cb_id[i] = -1;
    }
    if (w->close_cb)
        virConnectUnregisterCloseCallback(w->conn, on_close);
    w->close_cb = false;
    virConnectClose(w->conn);
    w->conn = NULL;
    w->closed_conn = NULL;
    virEventUpdateTimeout(w->lost_timer, -1);
}

/* Arm the next attempt: at once after a connection was lost, then 10, 20,
 * 40 ... ms, never more than LVW_BACKOFF_MAX_MS apart. */
static void lvw_schedule_retry(lvwatch_t *w, bool at_once)
{
    if (at_once)
        w->backoff_ms = 0;
    else if (w->backoff_ms < LVW_BACKOFF_FIRST_MS)
        w->backoff_ms = LVW_BACKOFF_FIRST_MS;
    else if (w->backoff_ms * 2 > LVW_BACKOFF_MAX_MS)
        w->backoff_ms = LVW_BACKOFF_MAX_MS;
    else
        w->backoff_ms *= 2;
    virEventUpdateTimeout(w->retry_timer, w->backoff_ms);
}

/* The view is gone: say so once, drop the connection, arm a retry. */
static void lvw_lost(lvwatch_t *w, const char *why, bool retry_at_once)
{
    if (!w->lost_logged)
        lvw_host_line(w, "LIBVIRTD", "lost", "reason", why);
    w->lost_logged = true;
    lvw_teardown(w);
    lvw_schedule_retry(w, retry_at_once);
}

static void lost_timer_cb(int timer, void *opaque)
{
    lvwatch_t *w = opaque;

    virEventUpdateTimeout(timer, -1);
    if (w->conn && w->conn == w->closed_conn)
        lvw_lost(w, close_reason_name(w->close_reason), true);
}

/* Log every domain's state, then "SNAPSHOT done".  0 or -1. */
static int lvw_snapshot(lvwatch_t *w)
{
    virDomainPtr *doms = NULL;
    int n, logged = 0, ret = -1;

    n = virConnectListAllDomains(w->conn, &doms, 0);
    if (n < 0) {
        lvw_warnx(w, "%s: list domains: %s", __func__, virt_errmsg());
        return -1;
    }
    for (int i = 0; i < n; i++) {
        int state, reason;
        lvw_line_t l;

        if (virDomainGetState(doms[i], &state, &reason, 0) < 0) {
            virErrorPtr e = virGetLastError();

            /* A transient domain destroyed since the list: it is gone,
             * which the snapshot says by not listing it. */
            if (e && e->code == VIR_ERR_NO_DOMAIN)
                continue;
            lvw_warnx(w, "%s: state of %s: %s", __func__,
                      virDomainGetName(doms[i]), virt_errmsg());
            goto out_free;
        }
        lvw_line_state(&l, now_ns(), w->o.host, virDomainGetName(doms[i]),
                       state, reason);
        lvw_emit(w, &l);
        logged++;
    }
    {
        lvw_line_t l;

        lvw_line_begin(&l, now_ns(), w->o.host, NULL, "SNAPSHOT", "done");
        lvw_line_addf(&l, "domains", "%d", logged);
        lvw_emit(w, &l);
    }
    ret = 0;
out_free:
    for (int i = 0; i < n; i++)
        virDomainFree(doms[i]);
    free(doms);
    return ret;
}

static int lvw_register(lvwatch_t *w)
{
    static const struct {
        int id;
        virConnectDomainEventGenericCallback cb;
    } cbs[CB_COUNT] = {
        [CB_LIFECYCLE] = {VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                          VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle)},
        [CB_MIGRATION_ITERATION] = {
            VIR_DOMAIN_EVENT_ID_MIGRATION_ITERATION,
            VIR_DOMAIN_EVENT_CALLBACK(on_migration_iteration)},
        [CB_JOB_COMPLETED] = {VIR_DOMAIN_EVENT_ID_JOB_COMPLETED,
                              VIR_DOMAIN_EVENT_CALLBACK(on_job_completed)},
    };

    if (virConnectRegisterCloseCallback(w->conn, on_close, w, NULL) < 0) {
        lvw_warnx(w, "%s: close callback: %s", __func__, virt_errmsg());
        return -1;
    }
    w->close_cb = true;
    for (int i = 0; i < CB_COUNT; i++) {
        w->cb_id[i] = virConnectDomainEventRegisterAny(w->conn, NULL,
                                                       cbs[i].id, cbs[i].cb,
                                                       w, NULL);
        if (w->cb_id[i] < 0) {
            lvw_warnx(w, "%s: event %d: %s", __func__, cbs[i].id,
                      virt_errmsg());
            return -1;
        }
    }
    return 0;
}

static void lvw_keepalive(lvwatch_t *w)
{
    static bool noted;
    int r;

    if (w->o.ka_interval <= 0)
        return;
    r = virConnectSetKeepAlive(w->conn, w->o.ka_interval, w->o.ka_count);
    if (r == 0 || noted)
        return;
    noted = true; /* once per process, not once per reconnect */
    if (r == 1)
        lvw_warnx(w, "keepalive: not supported by the daemon");
    else
        lvw_warnx(w, "keepalive: %s (running without)", virt_errmsg());
}

/* One connection attempt: open, register, log the snapshot.  0 or -1. */
static int lvw_connect(lvwatch_t *w)
{
    w->attempts++;
    w->conn = virConnectOpen(w->o.uri);
    if (!w->conn)
        return -1;
    lvw_keepalive(w);
    if (lvw_register(w) < 0) {
        lvw_teardown(w);
        return -1;
    }
    w->lost_logged = false;
    lvw_host_line(w, "LIBVIRTD", "connected", "uri", w->o.uri);
    if (lvw_snapshot(w) < 0) {
        /* Most likely the daemon went away mid-snapshot; if it did not,
         * the growing backoff keeps this from spinning. */
        lvw_lost(w, "snapshot-failed", false);
        return 0; /* lvw_lost armed the retry */
    }
    w->backoff_ms = 0;
    return 0;
}

static void retry_timer_cb(int timer, void *opaque)
{
    lvwatch_t *w = opaque;
    char err[256];

    virEventUpdateTimeout(timer, -1);
    if (w->conn || w->exit_signal)
        return;
    if (lvw_connect(w) == 0)
        return;
    /* Copied now: the next libvirt call resets the last error. */
    snprintf(err, sizeof(err), "%s", virt_errmsg());
    if (!w->lost_logged) /* first failure: the start, before any view */
        lvw_host_line(w, "LIBVIRTD", "lost", "reason", "connect-failed");
    w->lost_logged = true;
    lvw_schedule_retry(w, false);
    if (w->o.verbose)
        lvw_warnx(w, "%" PRIu64 " attempt %u: %s; next in %d ms", now_ns(),
                  w->attempts, err, w->backoff_ms);
}

static void alive_timer_cb(int timer, void *opaque)
{
    lvwatch_t *w = opaque;

    (void)timer;
    lvw_host_line(w, "LVWATCH", "alive", "connected", w->conn ? "1" : "0");
}

static void signal_cb(int watch, int fd, int events, void *opaque)
{
    lvwatch_t *w = opaque;
    struct signalfd_siginfo si;

    (void)watch;
    (void)events;
    if (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
        w->exit_signal = (int)si.ssi_signo;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: lvwatch --host NAME --log FILE [--uri URI]\n"
            "               [--keepalive SEC,COUNT] [--alive-ms MS] [-v]\n"
            "  --uri        libvirt URI (default %s)\n"
            "  --keepalive  libvirt keepalive, 0 to leave it off "
            "(default 2,3)\n"
            "  --alive-ms   period of 'LVWATCH alive' lines, 0 for none "
            "(default 1000)\n"
            "  -v           every failed connection attempt on stderr\n",
            LVW_DEFAULT_URI);
}

static int parse_int(const char *s, int min, int max, int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -1;
    *out = (int)v;
    return 0;
}

/* 0, or 2 (the usage exit code) with a message on stderr. */
static int parse_opts(int argc, char **argv, struct lvw_opts *o)
{
    static const struct option longopts[] = {
        {"host", required_argument, NULL, 'H'},
        {"log", required_argument, NULL, 'l'},
        {"uri", required_argument, NULL, 'u'},
        {"keepalive", required_argument, NULL, 'k'},
        {"alive-ms", required_argument, NULL, 'a'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c, count;
    char *comma;

    *o = (struct lvw_opts){.uri = LVW_DEFAULT_URI, .ka_interval = 2,
                           .ka_count = 3, .alive_ms = 1000};
    while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'H':
            o->host = optarg;
            break;
        case 'l':
            o->log_path = optarg;
            break;
        case 'u':
            o->uri = optarg;
            break;
        case 'k':
            comma = strchr(optarg, ',');
            if (comma)
                *comma = '\0';
            if (parse_int(optarg, 0, 3600, &o->ka_interval) < 0 ||
                (comma && (parse_int(comma + 1, 0, 1000, &count) < 0))) {
                fprintf(stderr, "lvwatch: bad --keepalive\n");
                return 2;
            }
            if (comma)
                o->ka_count = (unsigned)count;
            break;
        case 'a':
            if (parse_int(optarg, 0, 3600 * 1000, &o->alive_ms) < 0) {
                fprintf(stderr, "lvwatch: bad --alive-ms\n");
                return 2;
            }
            break;
        case 'v':
            o->verbose = true;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc || !o->host || !o->log_path || !*o->uri) {
        usage(stderr);
        return 2;
    }
    if (!*o->host || strpbrk(o->host, " \t\n\r%") || strcmp(o->host, "-") == 0) {
        fprintf(stderr, "lvwatch: --host must be one word\n");
        return 2;
    }
    return 0;
}

/* Event loop, timers and the signal fd.  0 or -1. */
static int lvw_setup(lvwatch_t *w)
{
    sigset_t mask;

    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    w->sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (w->sig_fd < 0) {
        lvw_warnx(w, "%s: signalfd: %s", __func__, strerror(errno));
        return -1;
    }
    if (virEventRegisterDefaultImpl() < 0) {
        lvw_warnx(w, "%s: event loop: %s", __func__, virt_errmsg());
        return -1;
    }
    virSetErrorFunc(NULL, quiet_libvirt_errors);
    w->sig_watch = virEventAddHandle(w->sig_fd, VIR_EVENT_HANDLE_READABLE,
                                     signal_cb, w, NULL);
    w->lost_timer = virEventAddTimeout(-1, lost_timer_cb, w, NULL);
    w->retry_timer = virEventAddTimeout(0, retry_timer_cb, w, NULL);
    w->alive_timer = w->o.alive_ms > 0
                         ? virEventAddTimeout(w->o.alive_ms, alive_timer_cb,
                                              w, NULL)
                         : 0;
    if (w->sig_watch < 0 || w->lost_timer < 0 || w->retry_timer < 0 ||
        w->alive_timer < 0) {
        lvw_warnx(w, "%s: cannot add event loop sources", __func__);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    lvwatch_t w = {.log_fd = -1, .sig_fd = -1, .exit_code = 0};
    sigset_t mask;
    lvw_line_t l;
    int r;

    /* Before anything can start a thread: the signals go to the signalfd. */
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);

    for (int i = 0; i < CB_COUNT; i++)
        w.cb_id[i] = -1;
    r = parse_opts(argc, argv, &w.o);
    if (r)
        return r;
    w.log_fd = open(w.o.log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
                    0644);
    if (w.log_fd < 0) {
        lvw_warnx(&w, "open %s: %s", w.o.log_path, strerror(errno));
        return 1;
    }
    if (lvw_setup(&w) < 0)
        return 1;

    lvw_line_begin(&l, now_ns(), w.o.host, NULL, "LVWATCH", "started");
    lvw_line_add_str(&l, "uri", w.o.uri);
    lvw_line_addf(&l, "alive_ms", "%d", w.o.alive_ms);
    lvw_line_addf(&l, "keepalive", "%d,%u", w.o.ka_interval, w.o.ka_count);
    lvw_line_addf(&l, "pid", "%ld", (long)getpid());
    lvw_emit(&w, &l);

    while (!w.exit_signal) {
        if (virEventRunDefaultImpl() < 0) {
            lvw_warnx(&w, "event loop: %s", virt_errmsg());
            w.exit_code = 1;
            break;
        }
    }

    lvw_teardown(&w);
    if (w.exit_signal > 0) {
        lvw_line_begin(&l, now_ns(), w.o.host, NULL, "LVWATCH", "stopped");
        lvw_line_add_str(&l, "signal", sigabbrev_np(w.exit_signal));
        lvw_emit(&w, &l);
    }
    close(w.log_fd);
    return w.exit_code;
}
