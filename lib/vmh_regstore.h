/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmh_regstore: the registry's state on disk, one file per node,
 * <dir>/registry.state, replaced atomically.
 *
 * File: a 56-byte header, then a vmh_wire snapshot (its own header and
 * version included) as the body:
 *   0 magic "VMHREGST", 8 version u16 (1), 10 reserved u16, 12 reserved u32,
 *   16 body length u64, 24 SHA-256 of the body [32]          (little-endian)
 * Save: write a temporary file in the same directory, fsync it, rename it
 * over the old one, fsync the directory. A crash leaves the old file or the
 * new one, never a mix. Load: any flaw (magic, version, length, checksum,
 * content) is reported, and nothing is returned: a registry that starts
 * from a guessed state could hand a VM to two nodes. The daemon then starts
 * empty, and the first sync round gives it the cluster's state.
 */
#ifndef VMH_REGSTORE_H
#define VMH_REGSTORE_H

#include "vmh_registry.h"

#define VMH_REGSTORE_FILE "registry.state"

enum vmh_regstore_fault {
	VMH_REGSTORE_OK = 0,
	VMH_REGSTORE_BAD_MAGIC,		/* not a registry state file */
	VMH_REGSTORE_BAD_VERSION,	/* a file format we do not read */
	VMH_REGSTORE_TRUNCATED,		/* shorter than its header says */
	VMH_REGSTORE_BAD_LENGTH,	/* longer than its header says */
	VMH_REGSTORE_TOO_LARGE,		/* beyond any state we could write */
	VMH_REGSTORE_BAD_CHECKSUM,	/* body does not match its SHA-256 */
	VMH_REGSTORE_BAD_CONTENT,	/* checksum fine, snapshot invalid */
};
const char *vmh_regstore_fault_str(enum vmh_regstore_fault f);

/* 0 or -errno (encoding: -EINVAL/-EMSGSIZE/-ENOMEM; I/O: from the calls). */
int vmh_regstore_save(const char *dir, const struct vmh_reg_image *img);

/*
 * 0: *img holds the saved state (free with vmh_reg_image_free()).
 * -ENOENT: no state file (a first start). -EBADMSG: the file is damaged,
 * *fault says how. Other -errno: I/O. *img is empty on any error.
 */
int vmh_regstore_load(const char *dir, struct vmh_reg_image *img,
		      enum vmh_regstore_fault *fault);

#endif
