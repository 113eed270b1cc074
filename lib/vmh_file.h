/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vmh_file: read a whole, bounded, regular file; replace one atomically. */
#ifndef VMH_FILE_H
#define VMH_FILE_H

#include <stddef.h>

/*
 * Read path into a new buffer (NUL-terminated, *len bytes before the NUL).
 * Returns 0; -errno from open/read; -EINVAL if not a regular file; -EFBIG
 * if larger than max (nothing read). A file that shrinks while read is
 * returned as far as it goes: the caller's format checks judge it.
 */
int vmh_file_read(const char *path, size_t max, char **out, size_t *len);

/*
 * Replace dir/name with head (hlen bytes) followed by body (blen bytes,
 * may be 0), so that a crash leaves the old file or the new one: a
 * temporary file (mode 0600) written and fsynced, renamed over the name,
 * then the directory fsynced. Returns 0 or -errno.
 */
int vmh_file_replace(const char *dir, const char *name, const void *head, size_t hlen,
		     const void *body, size_t blen);

#endif
