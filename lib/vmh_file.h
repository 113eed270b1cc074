/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vmh_file: read a whole, bounded, regular file. */
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

#endif
