/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "vmh_regstore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmh_bytes.h"
#include "vmh_file.h"
#include "vmh_sha256.h"
#include "vmh_wire.h"

#define FILE_MAGIC "VMHREGST"
#define FILE_VERSION 1
#define FILE_HDR_LEN 56
#define BODY_MAX ((uint64_t)VMH_WIRE_HDR_LEN + VMH_WIRE_MAX_BODY)

const char *vmh_regstore_fault_str(enum vmh_regstore_fault f)
{
	switch (f) {
	case VMH_REGSTORE_OK: return "ok";
	case VMH_REGSTORE_BAD_MAGIC: return "not a registry state file (bad magic)";
	case VMH_REGSTORE_BAD_VERSION: return "unsupported state file version";
	case VMH_REGSTORE_TRUNCATED: return "truncated";
	case VMH_REGSTORE_BAD_LENGTH: return "trailing bytes after the body";
	case VMH_REGSTORE_TOO_LARGE: return "too large";
	case VMH_REGSTORE_BAD_CHECKSUM: return "checksum mismatch";
	case VMH_REGSTORE_BAD_CONTENT: return "invalid state content";
	}
	return "?";
}

int vmh_regstore_save(const char *dir, const struct vmh_reg_image *img)
{
	uint8_t hdr[FILE_HDR_LEN] = { 0 };
	uint8_t *body;
	size_t len;
	int r;

	r = vmh_wire_encode_image(img, &body, &len);
	if (r < 0)
		return r;
	memcpy(hdr, FILE_MAGIC, 8);
	vmh_le_put(hdr + 8, FILE_VERSION, 2);
	vmh_le_put(hdr + 16, len, 8);
	vmh_sha256(body, len, hdr + 24);
	r = vmh_file_replace(dir, VMH_REGSTORE_FILE, hdr, sizeof(hdr), body, len);
	free(body);
	return r;
}

static int read_file(const char *path, uint8_t **out, size_t *out_len,
		     enum vmh_regstore_fault *fault)
{
	int r = vmh_file_read(path, FILE_HDR_LEN + BODY_MAX, (char **)out, out_len);

	if (r == -EFBIG) {
		*fault = VMH_REGSTORE_TOO_LARGE;
		return -EBADMSG;
	}
	return r;
}

int vmh_regstore_load(const char *dir, struct vmh_reg_image *img, enum vmh_regstore_fault *fault)
{
	uint8_t digest[VMH_SHA256_LEN];
	enum vmh_regstore_fault f = VMH_REGSTORE_OK;
	uint8_t *buf = NULL;
	char *path;
	uint64_t body_len;
	size_t len = 0;
	int r;

	memset(img, 0, sizeof(*img));
	if (asprintf(&path, "%s/%s", dir, VMH_REGSTORE_FILE) < 0)
		return -ENOMEM;
	r = read_file(path, &buf, &len, &f);
	free(path);
	if (r < 0)
		goto out;
	r = -EBADMSG;
	if (memcmp(buf, FILE_MAGIC, len < 8 ? len : 8) != 0) {
		f = VMH_REGSTORE_BAD_MAGIC;
		goto out;
	}
	if (len < FILE_HDR_LEN) {
		f = VMH_REGSTORE_TRUNCATED;
		goto out;
	}
	if (vmh_le_get(buf + 8, 2) != FILE_VERSION) {
		f = VMH_REGSTORE_BAD_VERSION;
		goto out;
	}
	body_len = vmh_le_get(buf + 16, 8);
	if (body_len > BODY_MAX) {
		f = VMH_REGSTORE_TOO_LARGE;
		goto out;
	}
	if (body_len > len - FILE_HDR_LEN) {
		f = VMH_REGSTORE_TRUNCATED;
		goto out;
	}
	if (body_len < len - FILE_HDR_LEN) {
		f = VMH_REGSTORE_BAD_LENGTH;
		goto out;
	}
	vmh_sha256(buf + FILE_HDR_LEN, (size_t)body_len, digest);
	if (memcmp(digest, buf + 24, sizeof(digest)) != 0) {
		f = VMH_REGSTORE_BAD_CHECKSUM;
		goto out;
	}
	r = vmh_wire_decode_image(buf + FILE_HDR_LEN, (size_t)body_len, img);
	if (r == -ENOMEM)
		goto out;
	if (r < 0) {
		f = VMH_REGSTORE_BAD_CONTENT;
		r = -EBADMSG;
	}
out:
	free(buf);
	if (fault)
		*fault = f;
	return r;
}
