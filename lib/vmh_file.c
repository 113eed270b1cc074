/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "vmh_file.h"

#include <errno.h>
#include <fcntl.h>
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
