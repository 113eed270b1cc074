/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "vmh_qemuproc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool is_qemu_binary(const char *argv0)
{
	const char *base = strrchr(argv0, '/');

	base = base ? base + 1 : argv0;
	return strncmp(base, "qemu-system-", 12) == 0 || strcmp(base, "qemu-kvm") == 0 ||
	       strcmp(base, "kvm") == 0;
}

/* QEMU option values escape ',' as ",,". Compare value (up to an unescaped
 * ',' or its end) with name. */
static bool qemu_value_equals(const char *value, const char *name)
{
	while (*name) {
		if (*value == ',') {
			if (value[1] != ',' || *name != ',')
				return false;
			value += 2;
			name++;
			continue;
		}
		if (*value != *name)
			return false;
		value++;
		name++;
	}
	return *value == '\0' || (*value == ',' && value[1] != ',');
}

bool vmh_qemuproc_cmdline_matches(const char *cmdline, size_t len,
				  const char *name, const char *uuid)
{
	const char *end = cmdline + len, *arg = cmdline, *prev = NULL;

	if (len == 0 || !is_qemu_binary(cmdline))
		return false;
	for (; arg < end; prev = arg, arg += strlen(arg) + 1) {
		if (!prev)
			continue;
		if (strcmp(prev, "-name") == 0) {
			if (strncmp(arg, "guest=", 6) == 0 ? qemu_value_equals(arg + 6, name)
							   : qemu_value_equals(arg, name))
				return true;
		}
		if (uuid && strcmp(prev, "-uuid") == 0 && strcasecmp(arg, uuid) == 0)
			return true;
	}
	return false;
}

static ssize_t read_cmdline(const char *proc_root, const char *pid, char *buf, size_t size)
{
	char path[PATH_MAX];
	ssize_t n, got = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%s/cmdline", proc_root, pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while ((size_t)got < size - 1 && (n = read(fd, buf + got, size - 1 - (size_t)got)) > 0)
		got += n;
	close(fd);
	buf[got] = '\0';
	return got;
}

static int scan(const char *proc_root, const char *name, const char *uuid, pid_t *pid)
{
	static char buf[65536];	/* QEMU command lines are long */
	DIR *dir = opendir(proc_root);
	struct dirent *de;
	int count = 0;

	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		ssize_t n;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		n = read_cmdline(proc_root, de->d_name, buf, sizeof(buf));
		if (n <= 0)
			continue;	/* gone, or a kernel thread */
		if (name ? vmh_qemuproc_cmdline_matches(buf, (size_t)n, name, uuid)
			 : is_qemu_binary(buf)) {
			if (count++ == 0 && pid)
				*pid = (pid_t)strtol(de->d_name, NULL, 10);
		}
	}
	closedir(dir);
	return count;
}

int vmh_qemuproc_find(const char *proc_root, const char *name,
		      const char *uuid, pid_t *pid)
{
	return scan(proc_root, name, uuid, pid);
}

int vmh_qemuproc_any(const char *proc_root)
{
	return scan(proc_root, NULL, NULL, NULL);
}
