/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmh_sha256: SHA-256, for the digest of a VM's domain XML in the registry
 * and the checksum of the registry's state file. GnuTLS computes it: libvirt
 * already links GnuTLS into every binary of ours, so it costs nothing, and
 * we keep no hash code of our own. Nothing here is secret.
 */
#ifndef VMH_SHA256_H
#define VMH_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define VMH_SHA256_LEN 32

void vmh_sha256(const void *data, size_t len, uint8_t out[VMH_SHA256_LEN]);

#endif
