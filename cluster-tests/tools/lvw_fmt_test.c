/*
 * lvw_fmt_test: unit test of lvwatch's line format (lvw_fmt.c), without a
 * libvirt daemon: the shapes of the JOB_COMPLETED and MIGRATION_ITERATION
 * lines are checked here because the test driver never sends those events.
 *
 * VIR_ENUM_SENTINELS gives this file libvirt's *_LAST values, so the tests
 * can prove every value the installed header knows has a name.
 *
 * NOTE libvirt's virTypedParamsAdd* crash ("free(): invalid pointer") when
 * nothing called virInitialize() first: main() calls it.
 */
#define _GNU_SOURCE
#define VIR_ENUM_SENTINELS

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lvw_fmt.h"

static int passed, failed;

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (cond) {                                                        \
            passed++;                                                      \
        } else {                                                           \
            failed++;                                                      \
            fprintf(stderr, "%s:%d: %s: FAILED: %s\n", __FILE__, __LINE__, \
                    __func__, #cond);                                      \
        }                                                                  \
    } while (0)

static void check_line(const char *func, lvw_line_t *l, const char *want)
{
    const char *got = lvw_line_end(l);

    if (l->len == strlen(want) && memcmp(got, want, l->len) == 0) {
        passed++;
        return;
    }
    failed++;
    fprintf(stderr, "%s: FAILED\n  want: %s  got:  %.*s", func, want,
            (int)l->len, got);
}

static void test_lifecycle(void)
{
    lvw_line_t l;

    lvw_line_lifecycle(&l, 1700000000123456789ULL, "node1", "vm1",
                       VIR_DOMAIN_EVENT_SUSPENDED,
                       VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED);
    check_line(__func__, &l, "1700000000123456789 node1 vm1 SUSPENDED MIGRATED\n");

    lvw_line_lifecycle(&l, 1, "node2", "vm1", VIR_DOMAIN_EVENT_RESUMED,
                       VIR_DOMAIN_EVENT_RESUMED_MIGRATED);
    check_line(__func__, &l, "1 node2 vm1 RESUMED MIGRATED\n");

    lvw_line_lifecycle(&l, 2, "node1", "vm1", VIR_DOMAIN_EVENT_STOPPED,
                       VIR_DOMAIN_EVENT_STOPPED_MIGRATED);
    check_line(__func__, &l, "2 node1 vm1 STOPPED MIGRATED\n");

    lvw_line_lifecycle(&l, 3, "h", "d", VIR_DOMAIN_EVENT_SUSPENDED,
                       VIR_DOMAIN_EVENT_SUSPENDED_IOERROR);
    check_line(__func__, &l, "3 h d SUSPENDED IOERROR\n");

    /* Values a newer libvirt may send. */
    lvw_line_lifecycle(&l, 4, "h", "d", 42, 7);
    check_line(__func__, &l, "4 h d EVENT_42 DETAIL_7\n");
    lvw_line_lifecycle(&l, 5, "h", "d", VIR_DOMAIN_EVENT_STARTED, 99);
    check_line(__func__, &l, "5 h d STARTED DETAIL_99\n");
}

static void test_state(void)
{
    lvw_line_t l;

    lvw_line_state(&l, 10, "node1", "vm1", VIR_DOMAIN_RUNNING,
                   VIR_DOMAIN_RUNNING_BOOTED);
    check_line(__func__, &l, "10 node1 vm1 STATE running reason=BOOTED\n");
    lvw_line_state(&l, 11, "node2", "vm1", VIR_DOMAIN_PAUSED,
                   VIR_DOMAIN_PAUSED_MIGRATION);
    check_line(__func__, &l, "11 node2 vm1 STATE paused reason=MIGRATION\n");
    lvw_line_state(&l, 12, "n", "v", 77, 3);
    check_line(__func__, &l, "12 n v STATE state_77 reason=REASON_3\n");
    lvw_line_state(&l, 13, "n", "v", VIR_DOMAIN_SHUTOFF, 1000);
    check_line(__func__, &l, "13 n v STATE shutoff reason=REASON_1000\n");
}

static void test_host_lines_and_escaping(void)
{
    lvw_line_t l;

    lvw_line_begin(&l, 20, "node1", NULL, "LIBVIRTD", "lost");
    lvw_line_add_str(&l, "reason", "eof");
    check_line(__func__, &l, "20 node1 - LIBVIRTD lost reason=eof\n");

    lvw_line_begin(&l, 21, "node1", "a b%c\td", "STATE", "running");
    lvw_line_add_str(&l, "k=x", "v=w y");
    lvw_line_add_str(&l, "empty", "");
    check_line(__func__, &l,
               "21 node1 a%20b%25c%09d STATE running k%3Dx=v=w%20y empty=\n");

    lvw_line_begin(&l, 22, "n", "v", "MIGRATION_ITERATION", NULL);
    lvw_line_addf(&l, "iteration", "%d", 3);
    check_line(__func__, &l, "22 n v MIGRATION_ITERATION - iteration=3\n");
}

static void test_job_completed(void)
{
    virTypedParameterPtr params = NULL;
    int n = 0, max = 0;
    lvw_line_t l;

    CHECK(virTypedParamsAddInt(&params, &n, &max, VIR_DOMAIN_JOB_OPERATION,
                               VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT) == 0);
    CHECK(virTypedParamsAddULLong(&params, &n, &max,
                                  VIR_DOMAIN_JOB_TIME_ELAPSED, 812) == 0);
    CHECK(virTypedParamsAddULLong(&params, &n, &max, VIR_DOMAIN_JOB_DOWNTIME,
                                  17) == 0);
    CHECK(virTypedParamsAddULLong(&params, &n, &max,
                                  VIR_DOMAIN_JOB_DATA_TOTAL,
                                  555745280ULL) == 0);
    CHECK(virTypedParamsAddULLong(&params, &n, &max,
                                  VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE, 120) == 0);
    CHECK(virTypedParamsAddBoolean(&params, &n, &max, VIR_DOMAIN_JOB_SUCCESS,
                                   1) == 0);
    CHECK(virTypedParamsAddDouble(&params, &n, &max, "ratio", 0.5) == 0);
    CHECK(virTypedParamsAddString(&params, &n, &max, VIR_DOMAIN_JOB_ERRMSG,
                                  "no error at all") == 0);

    lvw_line_job_completed(&l, 30, "node1", "vm1", params, n);
    check_line(__func__, &l,
               "30 node1 vm1 JOB_COMPLETED MIGRATION_OUT operation=5 "
               "time_elapsed=812 downtime=17 data_total=555745280 "
               "memory_dirty_rate=120 success=1 ratio=0.5 "
               "errmsg=no%20error%20at%20all\n");

    /* No operation parameter: the detail column is "-". */
    lvw_line_job_completed(&l, 31, "node1", "vm1", params + 1, 1);
    check_line(__func__, &l, "31 node1 vm1 JOB_COMPLETED - time_elapsed=812\n");
    virTypedParamsFree(params, n);
}

static void test_truncation(void)
{
    lvw_line_t l;
    char value[200];
    const char *text;

    memset(value, 'x', sizeof(value) - 1);
    value[sizeof(value) - 1] = '\0';
    lvw_line_begin(&l, 40, "n", "v", "JOB_COMPLETED", NULL);
    for (int i = 0; i < 100; i++)
        lvw_line_add_str(&l, "key", value);
    text = lvw_line_end(&l);
    CHECK(l.truncated);
    CHECK(l.len <= LVW_LINE_MAX);
    CHECK(l.len > LVW_LINE_MAX - 300);
    CHECK(strlen(text) == l.len);
    CHECK(strcmp(text + l.len - 13, " truncated=1\n") == 0);
    /* Cut between tokens: the last pair before the marker is whole. */
    CHECK(strstr(text, value) != NULL);
    CHECK(memcmp(text + l.len - 13 - strlen(value), value, strlen(value)) == 0);
}

/* Every value of the installed header has a name (tables are complete). */
static void test_tables_complete(void)
{
    static const int detail_last[] = {
        [VIR_DOMAIN_EVENT_DEFINED] = VIR_DOMAIN_EVENT_DEFINED_LAST,
        [VIR_DOMAIN_EVENT_UNDEFINED] = VIR_DOMAIN_EVENT_UNDEFINED_LAST,
        [VIR_DOMAIN_EVENT_STARTED] = VIR_DOMAIN_EVENT_STARTED_LAST,
        [VIR_DOMAIN_EVENT_SUSPENDED] = VIR_DOMAIN_EVENT_SUSPENDED_LAST,
        [VIR_DOMAIN_EVENT_RESUMED] = VIR_DOMAIN_EVENT_RESUMED_LAST,
        [VIR_DOMAIN_EVENT_STOPPED] = VIR_DOMAIN_EVENT_STOPPED_LAST,
        [VIR_DOMAIN_EVENT_SHUTDOWN] = VIR_DOMAIN_EVENT_SHUTDOWN_LAST,
        [VIR_DOMAIN_EVENT_PMSUSPENDED] = VIR_DOMAIN_EVENT_PMSUSPENDED_LAST,
        [VIR_DOMAIN_EVENT_CRASHED] = VIR_DOMAIN_EVENT_CRASHED_LAST,
    };
    static const int reason_last[] = {
        [VIR_DOMAIN_NOSTATE] = VIR_DOMAIN_NOSTATE_LAST,
        [VIR_DOMAIN_RUNNING] = VIR_DOMAIN_RUNNING_LAST,
        [VIR_DOMAIN_BLOCKED] = VIR_DOMAIN_BLOCKED_LAST,
        [VIR_DOMAIN_PAUSED] = VIR_DOMAIN_PAUSED_LAST,
        [VIR_DOMAIN_SHUTDOWN] = VIR_DOMAIN_SHUTDOWN_LAST,
        [VIR_DOMAIN_SHUTOFF] = VIR_DOMAIN_SHUTOFF_LAST,
        [VIR_DOMAIN_CRASHED] = VIR_DOMAIN_CRASHED_LAST,
        [VIR_DOMAIN_PMSUSPENDED] = VIR_DOMAIN_PMSUSPENDED_LAST,
    };
    int missing = 0;

    for (int e = 0; e < VIR_DOMAIN_EVENT_LAST; e++) {
        if (!lvw_event_name(e))
            missing++, fprintf(stderr, "no name: event %d\n", e);
        for (int d = 0; d < detail_last[e]; d++)
            if (!lvw_event_detail_name(e, d))
                missing++, fprintf(stderr, "no name: event %d detail %d\n",
                                   e, d);
    }
    for (int s = 0; s < VIR_DOMAIN_LAST; s++) {
        if (!lvw_state_name(s))
            missing++, fprintf(stderr, "no name: state %d\n", s);
        for (int r = 0; r < reason_last[s]; r++)
            if (!lvw_state_reason_name(s, r))
                missing++, fprintf(stderr, "no name: state %d reason %d\n",
                                   s, r);
    }
    for (int o = 0; o < VIR_DOMAIN_JOB_OPERATION_LAST; o++)
        if (!lvw_job_operation_name(o))
            missing++, fprintf(stderr, "no name: job operation %d\n", o);
    CHECK(missing == 0);
    CHECK(lvw_event_name(-1) == NULL);
    CHECK(lvw_event_name(VIR_DOMAIN_EVENT_LAST) == NULL);
}

/* One TAP line per test function: "ok N - name" / "not ok N - name". */
static void run(void (*fn)(void), const char *name)
{
    static int n;
    int before = failed;

    fn();
    printf("%sok %d - %s\n", failed > before ? "not " : "", ++n, name);
}

#define RUN(fn) run(fn, #fn)

int main(void)
{
    /* The virTypedParams* helpers use libvirt's thread-local error, which
     * is set up by virInitialize (virConnectOpen calls it, they do not):
     * without this, the first helper call frees a wild pointer. */
    if (virInitialize() < 0) {
        fprintf(stderr, "lvw_fmt_test: virInitialize failed\n");
        return 1;
    }
    RUN(test_lifecycle);
    RUN(test_state);
    RUN(test_host_lines_and_escaping);
    RUN(test_job_completed);
    RUN(test_truncation);
    RUN(test_tables_complete);
    printf("# lvw_fmt_test: %d checks passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
