/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the CPG message and state-file decoders (vmh_wire),
 * and the informational HANDOFF_STATS message.
 *
 * Any input: no crash, no leak, no undefined behaviour (ASan, UBSan), and
 * what the decoder accepts is canonical: it re-encodes to exactly the
 * input bytes (vmh_wire.h: one encoding per message), a decoded state
 * passes vmh_reg_image_check(), and no buffer is both a registry message
 * and a HANDOFF_STATS (the registry never sees one).
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "vmh_wire.h"

static void check_same(const char *what, const uint8_t *in, size_t in_len, const uint8_t *out,
		       size_t out_len)
{
	if (in_len != out_len || memcmp(in, out, in_len) != 0)
		fz_fail("%s: accepted %zu bytes re-encode to %zu other bytes", what, in_len, out_len);
}

static void fuzz_msg(const uint8_t *data, size_t size)
{
	struct vmh_msg m;
	uint8_t *buf = NULL;
	size_t len = 0;
	int r = vmh_wire_decode(data, size, &m);

	if (r < 0) {
		if (r != -EBADMSG && r != -EPROTONOSUPPORT && r != -ENOMSG && r != -ENOMEM)
			fz_fail("decode: unexpected return %d", r);
		return;
	}
	if (m.type == VMH_MSG_SYNC && (!m.image || vmh_reg_image_check(m.image) < 0))
		fz_fail("decode: SYNC image fails vmh_reg_image_check");
	r = vmh_wire_encode(&m, &buf, &len);
	if (r < 0)
		fz_fail("encode refuses a decoded message (type %d): %d", m.type, r);
	check_same("message", data, size, buf, len);
	free(buf);
	vmh_wire_msg_clear(&m);
}

static void fuzz_image(const uint8_t *data, size_t size)
{
	struct vmh_reg_image img;
	uint8_t *buf = NULL;
	size_t len = 0;
	int r = vmh_wire_decode_image(data, size, &img);

	if (r < 0)
		return;
	if (vmh_reg_image_check(&img) < 0)
		fz_fail("decoded snapshot fails vmh_reg_image_check");
	r = vmh_wire_encode_image(&img, &buf, &len);
	if (r < 0)
		fz_fail("encode refuses a decoded snapshot: %d", r);
	check_same("snapshot", data, size, buf, len);
	free(buf);
	vmh_reg_image_free(&img);
}

static void fuzz_stats(const uint8_t *data, size_t size)
{
	struct vmh_hist_entry e;
	struct vmh_msg m;
	uint8_t *buf = NULL;
	size_t len = 0;
	int r = vmh_wire_decode_stats(data, size, &e);

	if (r < 0) {
		if (r != -EBADMSG && r != -EPROTONOSUPPORT && r != -ENOMSG)
			fz_fail("decode_stats: unexpected return %d", r);
		return;
	}
	if (!vmh_hist_entry_ok(&e) || e.outcome == VMH_HIST_MIGRATING)
		fz_fail("decode_stats accepted an entry the rules refuse");
	if (vmh_wire_decode(data, size, &m) != -ENOMSG)
		fz_fail("a HANDOFF_STATS message decodes as a registry message");
	r = vmh_wire_encode_stats(&e, &buf, &len);
	if (r < 0)
		fz_fail("encode_stats refuses decoded figures: %d", r);
	check_same("handoff stats", data, size, buf, len);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmh_wire_hdr h;

	if (vmh_wire_peek(data, size, &h) == 0 && size < VMH_WIRE_HDR_LEN)
		fz_fail("peek accepted %zu bytes", size);
	fuzz_msg(data, size);
	fuzz_image(data, size);
	fuzz_stats(data, size);
	return 0;
}
