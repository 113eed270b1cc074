/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmhandoffd: start-up, the event loop, shutdown.
 *
 * Runs in the foreground (systemd Type=notify: READY=1 once the registry
 * has synced with the cluster, or after HD_READY_WAIT_MS without it, so a
 * lone node still lets pacemaker start and answer "no quorum" itself).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "hd.h"
#include "vmh_log.h"
#include "vmh_time.h"

#define HD_READY_WAIT_MS 20000

static bool notified_ready;

static void tick_cb(int timer, void *opaque)
{
	struct hd *hd = opaque;
	static int64_t started;

	if (!started)
		started = vmh_now_ms();
	virEventUpdateTimeout(timer, hd_reg_tick(hd));
	if (!notified_ready &&
	    ((hd->reg && vmh_reg_in_config(hd->reg) && !vmh_reg_syncing(hd->reg)) ||
	     vmh_now_ms() - started > HD_READY_WAIT_MS)) {
		notified_ready = true;
		sd_notify(0, "READY=1\nSTATUS=registry running");
	}
}

static void signal_cb(int watch, int fd, int events, void *opaque)
{
	struct hd *hd = opaque;
	struct signalfd_siginfo si;

	(void)watch;
	(void)events;
	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	vmh_log(VMH_LOG_NOTICE, "signal %u: shutting down", si.ssi_signo);
	hd->quit = true;
}

/* One daemon per state directory: two would both act on one registry. */
static int lock_state_dir(const struct hd *hd)
{
	char path[4096];
	int fd;

	if (mkdir(hd->cfg.state_dir, 0700) < 0 && errno != EEXIST) {
		vmh_log_errno(VMH_LOG_ERR, errno, "cannot create the state directory %s",
			      hd->cfg.state_dir);
		return -1;
	}
	if (chmod(hd->cfg.state_dir, 0700) < 0)
		vmh_log_errno(VMH_LOG_WARNING, errno, "chmod 0700 %s", hd->cfg.state_dir);
	snprintf(path, sizeof(path), "%s/vmhandoffd.lock", hd->cfg.state_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		vmh_log_errno(VMH_LOG_ERR, errno, "cannot open %s", path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		vmh_log(VMH_LOG_ERR, "another vmhandoffd uses %s (lock %s is held)",
			hd->cfg.state_dir, path);
		close(fd);
		return -1;
	}
	return fd;	/* held until exit */
}

static int setup_signals(struct hd *hd)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -1;
	return virEventAddHandle(fd, VIR_EVENT_HANDLE_READABLE, signal_cb, hd, NULL) < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	static struct hd hd = {
		.cpg_watch = -1, .quorum_watch = -1, .reconnect_timer = -1,
		.lifecycle_cb = -1, .virt_retry_timer = -1, .listen_fd = -1,
		.listen_watch = -1, .tick_timer = -1,
	};
	int r, lock;

	vmh_log_open("vmhandoffd", false, getenv("VMH_DEBUG") != NULL);
	vmh_log_hook_libraries();
	r = hd_config_load(&hd.cfg, argc, argv);
	if (r != 0)
		return r > 0 ? 0 : 1;
	if (hd.cfg.debug)
		vmh_log_open("vmhandoffd", false, true);
	lock = lock_state_dir(&hd);
	if (lock < 0)
		return 1;
	hd_hist_load(&hd);
	if (virInitialize() < 0 || virEventRegisterDefaultImpl() < 0) {
		vmh_log(VMH_LOG_ERR, "cannot initialize libvirt's event loop");
		return 1;
	}
	if (setup_signals(&hd) < 0) {
		vmh_log_errno(VMH_LOG_ERR, errno, "signal setup");
		return 1;
	}
	hd_reg_find_address(&hd);
	if (hd_ipc_listen(&hd) < 0)
		return 1;
	if (hd_virt_connect(&hd) < 0) {
		vmh_log(VMH_LOG_WARNING, "libvirt (%s) not reachable yet: retrying every second",
			hd.cfg.libvirt_uri);
		hd_virt_schedule_retry(&hd);
	}
	if (hd_cluster_connect(&hd) < 0) {
		vmh_log(VMH_LOG_WARNING, "corosync not reachable yet: retrying every second");
		hd_reg_offline(&hd);
		hd_cluster_schedule_reconnect(&hd);
	}
	hd.tick_timer = virEventAddTimeout(HD_TICK_MS, tick_cb, &hd, NULL);
	hd.tick_fast = true;
	vmh_log(VMH_LOG_NOTICE, "vmhandoffd started (state %s, socket %s, quorum_loss_pause %u ms)",
		hd.cfg.state_dir, hd.cfg.socket_path, hd.cfg.quorum_loss_pause_ms);

	while (!hd.quit)
		if (virEventRunDefaultImpl() < 0)
			break;

	sd_notify(0, "STOPPING=1");
	hd_ipc_close(&hd);
	hd_cluster_disconnect(&hd);
	hd_reg_free(&hd);
	hd_fence_close(&hd);
	hd_virt_disconnect(&hd);
	hd_hist_close(&hd);
	free(hd.nodes);
	hd_config_free(&hd.cfg);
	close(lock);
	vmh_log(VMH_LOG_NOTICE, "vmhandoffd stopped");
	return 0;
}
