/*
 * lvwdrive: drive domains through a libvirt URI, step by step, for
 * lvwatch_test.sh (the tools must not shell out to virsh, the tests neither).
 *
 *   lvwdrive URI STEP...
 *   STEP: create NAME | define NAME | start NAME | suspend NAME |
 *         resume NAME | destroy NAME | shutdown NAME | undefine NAME |
 *         sleep MS
 *
 * Each step prints "lvwdrive: <step> <name> ok" and the CLOCK_REALTIME ns
 * just before and after the call, so the test can bound the timestamps
 * lvwatch writes.  Exit 0 when every step succeeded, 1 at the first failure,
 * 2 on bad usage.
 *
 * The domain XML is for libvirt's test driver (type='test'); through
 * test+unix:// it drives the test driver inside a real libvirtd.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static char *domain_xml(const char *name)
{
    char *xml = NULL;

    if (asprintf(&xml,
                 "<domain type='test'><name>%s</name><memory>8192</memory>"
                 "<os><type>hvm</type></os></domain>",
                 name) < 0)
        return NULL;
    return xml;
}

/* Run one step on the named domain; 0 or -1. */
static int run_step(virConnectPtr conn, const char *step, const char *name)
{
    virDomainPtr dom = NULL;
    char *xml = NULL;
    int ret = -1;

    if (strcmp(step, "create") == 0 || strcmp(step, "define") == 0) {
        xml = domain_xml(name);
        if (!xml)
            return -1;
        dom = step[0] == 'c' ? virDomainCreateXML(conn, xml, 0)
                             : virDomainDefineXML(conn, xml);
        ret = dom ? 0 : -1;
        goto out;
    }
    dom = virDomainLookupByName(conn, name);
    if (!dom)
        goto out;
    if (strcmp(step, "start") == 0)
        ret = virDomainCreate(dom);
    else if (strcmp(step, "suspend") == 0)
        ret = virDomainSuspend(dom);
    else if (strcmp(step, "resume") == 0)
        ret = virDomainResume(dom);
    else if (strcmp(step, "destroy") == 0)
        ret = virDomainDestroy(dom);
    else if (strcmp(step, "shutdown") == 0)
        ret = virDomainShutdown(dom);
    else if (strcmp(step, "undefine") == 0)
        ret = virDomainUndefine(dom);
    else
        fprintf(stderr, "lvwdrive: unknown step %s\n", step);
out:
    if (dom)
        virDomainFree(dom);
    free(xml);
    return ret;
}

int main(int argc, char **argv)
{
    virConnectPtr conn;
    int i, ret = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: lvwdrive URI STEP...\n");
        return 2;
    }
    conn = virConnectOpen(argv[1]);
    if (!conn) {
        fprintf(stderr, "lvwdrive: open %s: %s\n", argv[1],
                virGetLastErrorMessage());
        return 1;
    }
    for (i = 2; i < argc && ret == 0; i += 2) {
        const char *step = argv[i];
        const char *arg = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t t0, t1;

        if (!arg) {
            fprintf(stderr, "lvwdrive: %s needs an argument\n", step);
            ret = 2;
            break;
        }
        if (strcmp(step, "sleep") == 0) {
            long ms = strtol(arg, NULL, 10);
            struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

            while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
            continue;
        }
        t0 = now_ns();
        if (run_step(conn, step, arg) < 0) {
            fprintf(stderr, "lvwdrive: %s %s: %s\n", step, arg,
                    virGetLastErrorMessage());
            ret = 1;
            break;
        }
        t1 = now_ns();
        printf("lvwdrive: %s %s ok %" PRIu64 " %" PRIu64 "\n", step, arg, t0,
               t1);
        fflush(stdout);
    }
    virConnectClose(conn);
    return ret;
}
