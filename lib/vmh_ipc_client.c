/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmh_ipc: the blocking client (see vmh_ipc_call in vmh_ipc.h). One
 * connection per call, a non-blocking socket and poll() against one
 * monotonic deadline: the budget plus VMH_IPC_CALL_GRACE_MS (or the
 * caller's grace) for the reply to travel, so the caller never waits
 * longer, whatever the daemon does.
 */
#include "vmh_ipc.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmh_time.h"

/* What vmh_ipc_call allows the reply to travel beyond the budget. */

/* Waits until fd is ready for events or the deadline passes: the events
 * that are ready (an error or a hang-up included: the next call on fd
 * tells which), or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };

	for (;;) {
		int n = poll(&p, 1, (int)vmh_ms_left(deadline));

		if (n > 0)
			return p.revents;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

/*
 * A connect that did not complete at once. 0 connected, 1 try again,
 * -errno. A unix socket answers EAGAIN when the listener's backlog is
 * full (the daemon is busy; there is nothing to poll for, so retry after
 * a pause) and connects at once otherwise; EINPROGRESS/EINTR are handled
 * as for any other socket.
 */
static int connect_wait(int fd, int err, int64_t deadline)
{
	socklen_t sl = sizeof(int);
	int so_err = 0, r;

	switch (err) {
	case EAGAIN:
		if (vmh_ms_left(deadline) == 0)
			return -ETIMEDOUT;
		poll(NULL, 0, 10);
		return 1;
	case EINPROGRESS:
	case EINTR:
		r = wait_fd(fd, POLLOUT, deadline);
		if (r < 0)
			return r;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_err, &sl) < 0)
			return -errno;
		return -so_err;
	default:
		return -err;
	}
}

/* A connected non-blocking socket, or -errno. */
static int connect_to(const char *path, int64_t deadline)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(path);
	int fd, r = 0;

	/* "" would name an abstract socket of zeros, not a file. */
	if (len == 0)
		return -EINVAL;
	if (len >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, len + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	while (connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = connect_wait(fd, errno, deadline);
		if (r <= 0)
			break;
	}
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

/*
 * 0 sent; 1 the daemon answered (or closed) before it took the whole
 * request: go and read what it said; -errno. A daemon that refuses a
 * request (E_PERM, E_MALFORMED) need not read the rest of it, and then
 * waiting for room to send would only run into the deadline.
 */
static int send_all(int fd, const uint8_t *buf, size_t len, int64_t deadline)
{
	size_t done = 0;
	int r;

	while (done < len) {
		ssize_t n = send(fd, buf + done, len - done, MSG_NOSIGNAL);

		if (n >= 0) {
			done += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EPIPE || errno == ECONNRESET)
			return 1;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		r = wait_fd(fd, POLLOUT | POLLIN, deadline);
		if (r < 0)
			return r;
		if ((r & (POLLIN | POLLHUP)) && !(r & POLLOUT))
			return 1;
	}
	return 0;
}

/* Exactly len bytes; -ECONNRESET if the daemon closes before. */
static int recv_all(int fd, uint8_t *buf, size_t len, int64_t deadline)
{
	size_t done = 0;
	int r;

	while (done < len) {
		ssize_t n = recv(fd, buf + done, len - done, 0);

		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n == 0)
			return -ECONNRESET;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		r = wait_fd(fd, POLLIN, deadline);
		if (r < 0)
			return r;
	}
	return 0;
}

/* One whole frame of type want into a new buffer. Refuses a frame of
 * another type or version, or an oversized one, before reading its body. */
static int recv_frame(int fd, unsigned want, int64_t deadline, uint8_t **buf, size_t *len)
{
	uint8_t hdr[VMH_IPC_HDR_LEN];
	ssize_t flen;
	int r;

	r = recv_all(fd, hdr, sizeof(hdr), deadline);
	if (r < 0)
		return r;
	flen = vmh_ipc_frame_len(hdr, sizeof(hdr));
	if (flen < 0 || (hdr[0] | hdr[1] << 8) != (int)want ||
	    (hdr[2] | hdr[3] << 8) != VMH_IPC_VERSION)
		return -EBADMSG;
	*buf = malloc((size_t)flen);
	if (!*buf)
		return -ENOMEM;
	memcpy(*buf, hdr, sizeof(hdr));
	*len = (size_t)flen;
	return recv_all(fd, *buf + sizeof(hdr), *len - sizeof(hdr), deadline);
}

/* Sends the request and reads the reply on a connected socket. */
static int exchange(int fd, const struct vmh_ipc_req *req, const uint8_t *out, size_t out_len,
		    int64_t deadline, struct vmh_ipc_reply *rep)
{
	uint8_t *in = NULL;
	size_t in_len = 0;
	int r;

	r = send_all(fd, out, out_len, deadline);
	if (r >= 0)
		r = recv_frame(fd, (unsigned)req->type | VMH_IPC_REPLY, deadline, &in, &in_len);
	if (r == 0) {
		r = vmh_ipc_decode_reply(in, in_len, rep);
		if (r < 0 && r != -ENOMEM)
			r = -EBADMSG;
	}
	free(in);
	return r;
}

int vmh_ipc_call(const char *path, const struct vmh_ipc_req *req, struct vmh_ipc_reply *rep)
{
	return vmh_ipc_call_grace(path, req, rep, VMH_IPC_CALL_GRACE_MS);
}

int vmh_ipc_call_grace(const char *path, const struct vmh_ipc_req *req,
		       struct vmh_ipc_reply *rep, uint32_t grace_ms)
{
	uint8_t *out;
	size_t out_len;
	int64_t deadline;
	int fd, r;

	memset(rep, 0, sizeof(*rep));
	r = vmh_ipc_encode_req(req, &out, &out_len);
	if (r < 0)
		return r;
	/* Monotonic: a wall clock step must neither cut nor stretch the wait. */
	deadline = vmh_now_ms() + req->budget_ms + grace_ms;
	fd = connect_to(path ? path : VMH_IPC_DEFAULT_SOCKET, deadline);
	if (fd < 0) {
		r = fd;
		goto out_free;
	}
	r = exchange(fd, req, out, out_len, deadline, rep);
	close(fd);
out_free:
	free(out);
	return r;
}
