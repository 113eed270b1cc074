/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "vmh_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int vmh_file_read(const char *path, size_t max, char **out, size_t *len)
{
	struct stat st;
	char *buf;
	size_t got = 0;
	int fd, r = 0;

	/* O_NONBLOCK: a FIFO put where a file belongs must not block the
	 * open (until a writer comes: past any op timeout); it is refused
	 * below as not a regular file. Reads of a regular file ignore it. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out_fd;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		goto out_fd;
	}
	if ((unsigned long long)st.st_size > max) {
		r = -EFBIG;
		goto out_fd;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		r = -ENOMEM;
		goto out_fd;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			free(buf);
			goto out_fd;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
out_fd:
	close(fd);
	return r;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

int vmh_file_replace(const char *dir, const char *name, const void *head, size_t hlen,
		     const void *body, size_t blen)
{
	char *tmp = NULL, *path = NULL;
	int fd, r;

	if (asprintf(&tmp, "%s/.%s.XXXXXX", dir, name) < 0) {
		tmp = NULL;
		return -ENOMEM;
	}
	if (asprintf(&path, "%s/%s", dir, name) < 0) {
		free(tmp);
		return -ENOMEM;
	}
	fd = mkostemp(tmp, O_CLOEXEC);	/* mode 0600 */
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	r = write_all(fd, head, hlen);
	if (r == 0 && blen)
		r = write_all(fd, body, blen);
	/* The data must be on disk before the name points at it. */
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		goto out;
	}
	/* And the rename itself must survive a crash. */
	r = fsync_dir(dir);
out:
	free(tmp);
	free(path);
	return r;
}
