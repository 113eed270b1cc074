/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmhandoffd's unix socket (lib/vmh_ipc.h): the agent and the CLI.
 *
 * The socket is 0660 root:haclient in a 0750 directory; on top of that the
 * peer's credentials (SO_PEERCRED) must be uid 0 or a user in haclient
 * (pacemaker-execd runs agents as root; hacluster is in haclient).
 * A connection carries one request at a time: the next is read only after
 * the reply to the previous one is written, so replies stay in order
 * whatever the registry takes to decide.
 */
#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "hd.h"
#include "vmh_log.h"

#define HD_MAX_CLIENTS 128
#define HD_CLIENT_GROUP "haclient"

struct hd_client {
	struct hd_client *next;
	int fd;
	int watch;
	bool allowed;
	pid_t pid;
	bool busy;		/* a request waits for its reply */
	uint32_t seq;		/* number of the request in flight */
	uint8_t *in;
	size_t in_len, in_cap;
	uint8_t *out;
	size_t out_len, out_off;
	bool closed;		/* in the graveyard: freed by reap_cb */
};

static size_t n_clients;
/* Closed clients, freed from the event loop: a caller up the stack may
 * still hold a closed client (handle_request -> reply -> flush -> close)
 * and asks client_alive() about it, which must not read freed memory. */
static struct hd_client *graveyard;
static int reap_timer = -1;

static gid_t client_gid(void)
{
	struct group *g = getgrnam(HD_CLIENT_GROUP);

	return g ? g->gr_gid : (gid_t)-1;
}

static bool peer_allowed(uid_t uid, gid_t gid)
{
	gid_t hg = client_gid(), groups[256];
	int n = 256;
	struct passwd *pw;

	if (uid == 0 || (hg != (gid_t)-1 && gid == hg))
		return true;
	if (hg == (gid_t)-1 || !(pw = getpwuid(uid)))
		return false;
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0)
		return false;
	for (int i = 0; i < n; i++)
		if (groups[i] == hg)
			return true;
	return false;
}

static void reap(void)
{
	struct hd_client *c;

	while ((c = graveyard)) {
		graveyard = c->next;
		free(c);
	}
}

static void reap_cb(int timer, void *opaque)
{
	(void)opaque;
	virEventRemoveTimeout(timer);
	reap_timer = -1;
	reap();
}

static void client_close(struct hd *hd, struct hd_client *c)
{
	if (c->closed)
		return;
	c->closed = true;
	hd_reg_client_gone(hd, c);
	for (struct hd_client **pc = &hd->clients; *pc; pc = &(*pc)->next)
		if (*pc == c) {
			*pc = c->next;
			break;
		}
	if (c->watch >= 0)
		virEventRemoveHandle(c->watch);
	close(c->fd);
	free(c->in);
	free(c->out);
	c->in = c->out = NULL;
	c->next = graveyard;
	graveyard = c;
	if (reap_timer < 0)
		reap_timer = virEventAddTimeout(0, reap_cb, NULL, NULL);
	n_clients--;
}

static void client_events(struct hd_client *c)
{
	int ev = 0;

	if (c->out_len > c->out_off)
		ev |= VIR_EVENT_HANDLE_WRITABLE;
	else if (!c->busy)
		ev |= VIR_EVENT_HANDLE_READABLE;
	virEventUpdateHandle(c->watch, ev);
}

/* 0, or -1: the client is gone (closed here) */
static int client_flush(struct hd *hd, struct hd_client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (w <= 0) {
			client_close(hd, c);
			return -1;
		}
		c->out_off += (size_t)w;
	}
	if (c->out_off == c->out_len) {
		free(c->out);
		c->out = NULL;
		c->out_len = c->out_off = 0;
	}
	client_events(c);
	return 0;
}

static bool client_alive(const struct hd_client *c)
{
	return !c->closed;
}

void hd_ipc_reply(struct hd *hd, struct hd_client *c, uint32_t seq,
		  const struct vmh_ipc_reply *rep)
{
	uint8_t *buf;
	size_t len;

	if (!c || !client_alive(c) || !c->busy || c->seq != seq)
		return;
	if (vmh_ipc_encode_reply(rep, &buf, &len) < 0) {
		vmh_log(VMH_LOG_ERR, "cannot encode a reply for client pid %d", (int)c->pid);
		client_close(hd, c);
		return;
	}
	c->busy = false;
	free(c->out);
	c->out = buf;
	c->out_len = len;
	c->out_off = 0;
	client_flush(hd, c);
}

static void reply_status(struct hd *hd, struct hd_client *c, enum vmh_ipc_type type,
			 enum vmh_ipc_status st, const char *msg)
{
	struct vmh_ipc_reply rep = { .type = type | VMH_IPC_REPLY, .status = st };

	snprintf(rep.message, sizeof(rep.message), "%s", msg);
	hd_ipc_reply(hd, c, c->seq, &rep);
}

static void handle_request(struct hd *hd, struct hd_client *c, const uint8_t *buf, size_t len)
{
	struct vmh_ipc_req req;
	uint16_t type = (uint16_t)(buf[0] | buf[1] << 8);
	int r;

	c->busy = true;
	c->seq++;
	r = vmh_ipc_decode_req(buf, len, &req);
	if (r < 0) {
		vmh_log(VMH_LOG_WARNING, "malformed request from pid %d (%s)", (int)c->pid, strerror(-r));
		if (type >= 1 && type <= VMH_IPC_TYPE_MAX)
			reply_status(hd, c, type, VMH_IPC_E_MALFORMED, "malformed request");
		else
			client_close(hd, c);
		return;
	}
	if (!c->allowed) {
		vmh_log(VMH_LOG_WARNING, "refused a request from pid %d: not root and not in %s",
			(int)c->pid, HD_CLIENT_GROUP);
		reply_status(hd, c, req.type, VMH_IPC_E_PERM, "root or haclient only");
	} else if (req.type == VMH_IPC_STATUS) {
		struct vmh_ipc_reply rep = { .type = VMH_IPC_STATUS | VMH_IPC_REPLY };

		hd_reg_status(hd, &rep);
		hd_ipc_reply(hd, c, c->seq, &rep);
		vmh_ipc_reply_clear(&rep);
	} else if (req.type == VMH_IPC_HISTORY) {
		/* the local history: answered also without corosync */
		hd_hist_request(hd, c, c->seq, &req);
	} else {
		vmh_log(VMH_LOG_DEBUG, "%s %s from pid %d (budget %u ms)", vmh_ipc_type_str(req.type),
			req.vm, (int)c->pid, req.budget_ms);
		hd_reg_request(hd, c, c->seq, &req);
	}
	vmh_ipc_req_clear(&req);
}

/* Reads what is there; handles one complete frame. 0, or -1: closed. */
static int client_read(struct hd *hd, struct hd_client *c)
{
	for (;;) {
		ssize_t want, r;

		want = vmh_ipc_frame_len(c->in, c->in_len);
		if (want < 0) {
			vmh_log(VMH_LOG_WARNING, "oversized request from pid %d: closing", (int)c->pid);
			client_close(hd, c);
			return -1;
		}
		if (want > 0 && c->in_len >= (size_t)want) {
			handle_request(hd, c, c->in, (size_t)want);
			if (!client_alive(c) || !c->in)	/* closed (in freed) */
				return -1;
			memmove(c->in, c->in + want, c->in_len - (size_t)want);
			c->in_len -= (size_t)want;
			client_events(c);
			return 0;
		}
		if (want == 0)
			want = VMH_IPC_HDR_LEN;
		if (c->in_cap < (size_t)want) {
			uint8_t *grown = realloc(c->in, (size_t)want);

			if (!grown) {
				client_close(hd, c);
				return -1;
			}
			c->in = grown;
			c->in_cap = (size_t)want;
		}
		r = recv(c->fd, c->in + c->in_len, (size_t)want - c->in_len, MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (r <= 0) {
			client_close(hd, c);
			return -1;
		}
		c->in_len += (size_t)r;
	}
}

static struct hd *the_hd;	/* libvirt's handle callback has one opaque */

static void client_io_cb(int watch, int fd, int events, void *opaque)
{
	struct hd_client *c = opaque;

	(void)watch;
	(void)fd;
	if (events & (VIR_EVENT_HANDLE_ERROR | VIR_EVENT_HANDLE_HANGUP)) {
		if (!c->busy || !(events & VIR_EVENT_HANDLE_READABLE)) {
			client_close(the_hd, c);
			return;
		}
	}
	if (events & VIR_EVENT_HANDLE_WRITABLE) {
		if (client_flush(the_hd, c) < 0)
			return;
	}
	if ((events & VIR_EVENT_HANDLE_READABLE) && !c->busy)
		client_read(the_hd, c);
}

static void accept_cb(int watch, int fd, int events, void *opaque)
{
	struct hd *hd = opaque;
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	struct hd_client *c;
	int cfd;

	(void)watch;
	(void)events;
	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	if (n_clients >= HD_MAX_CLIENTS) {
		vmh_log(VMH_LOG_WARNING, "too many clients (%d): refusing one", HD_MAX_CLIENTS);
		close(cfd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c || getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0) {
		free(c);
		close(cfd);
		return;
	}
	c->fd = cfd;
	c->pid = cred.pid;
	c->allowed = peer_allowed(cred.uid, cred.gid);
	c->watch = virEventAddHandle(cfd, VIR_EVENT_HANDLE_READABLE, client_io_cb, c, NULL);
	if (c->watch < 0) {
		free(c);
		close(cfd);
		return;
	}
	c->next = hd->clients;
	hd->clients = c;
	n_clients++;
}

int hd_ipc_listen(struct hd *hd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[PATH_MAX];
	struct stat st;
	gid_t gid = client_gid();
	int fd;

	the_hd = hd;
	if (strlen(hd->cfg.socket_path) >= sizeof(sa.sun_path)) {
		vmh_log(VMH_LOG_ERR, "socket path too long: %s", hd->cfg.socket_path);
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", hd->cfg.socket_path);
	dirname(dir);
	if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
		vmh_log_errno(VMH_LOG_ERR, errno, "cannot create %s", dir);
		return -1;
	}
	if (gid != (gid_t)-1 && chown(dir, 0, gid) < 0 && geteuid() == 0)
		vmh_log_errno(VMH_LOG_WARNING, errno, "chown %s", dir);
	/* a socket left by a daemon that died: ours to replace (a second
	 * daemon fails on the state directory's lock before this) */
	if (lstat(hd->cfg.socket_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			vmh_log(VMH_LOG_ERR, "%s exists and is not a socket: not touching it",
				hd->cfg.socket_path);
			return -1;
		}
		unlink(hd->cfg.socket_path);
	}
	memcpy(sa.sun_path, hd->cfg.socket_path, strlen(hd->cfg.socket_path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(hd->cfg.socket_path, 0660) < 0 || listen(fd, 32) < 0) {
		vmh_log_errno(VMH_LOG_ERR, errno, "cannot listen on %s", hd->cfg.socket_path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (gid != (gid_t)-1 && chown(hd->cfg.socket_path, 0, gid) < 0 && geteuid() == 0)
		vmh_log_errno(VMH_LOG_WARNING, errno, "chown %s", hd->cfg.socket_path);
	hd->listen_fd = fd;
	hd->listen_watch = virEventAddHandle(fd, VIR_EVENT_HANDLE_READABLE, accept_cb, hd, NULL);
	if (hd->listen_watch < 0) {
		close(fd);
		hd->listen_fd = -1;
		return -1;
	}
	vmh_log(VMH_LOG_NOTICE, "listening on %s", hd->cfg.socket_path);
	return 0;
}

void hd_ipc_close(struct hd *hd)
{
	while (hd->clients)
		client_close(hd, hd->clients);
	if (reap_timer >= 0)
		virEventRemoveTimeout(reap_timer);
	reap_timer = -1;
	reap();
	if (hd->listen_watch >= 0)
		virEventRemoveHandle(hd->listen_watch);
	if (hd->listen_fd >= 0) {
		close(hd->listen_fd);
		unlink(hd->cfg.socket_path);
	}
	hd->listen_fd = hd->listen_watch = -1;
}
