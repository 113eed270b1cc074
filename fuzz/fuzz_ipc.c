/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the local IPC codec (vmh_ipc), requests and replies.
 *
 * Any input: no crash, no leak, no undefined behaviour. The stream
 * framer agrees with the decoders on a frame's length. What a decoder
 * accepts, the encoder accepts too (vmh_ipc.h: encoders refuse what the
 * decoder would refuse, and nothing else), and it is a fixed point:
 * encode(decode(encode(decode(x)))) == encode(decode(x)). (The input
 * itself need not come back: fields may come in any order, and a present
 * zero field is the same as an absent one.)
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "vmh_ipc.h"
#include "vmh_wire.h"

static void check_rc(const char *what, int r)
{
	if (r < 0 && r != -EBADMSG && r != -EPROTONOSUPPORT && r != -ENOMSG && r != -ENOMEM)
		fz_fail("%s: unexpected return %d", what, r);
}

static void check_frame_len(const uint8_t *data, size_t size)
{
	ssize_t n = vmh_ipc_frame_len(data, size);

	if (n != (ssize_t)size)
		fz_fail("a decoded frame of %zu bytes has frame_len %zd", size, n);
}

static void fuzz_req(const uint8_t *data, size_t size)
{
	struct vmh_ipc_req req, again;
	uint8_t *b1 = NULL, *b2 = NULL;
	size_t l1 = 0, l2 = 0;
	int r = vmh_ipc_decode_req(data, size, &req);

	check_rc("decode_req", r);
	if (r < 0)
		return;
	check_frame_len(data, size);
	if ((r = vmh_ipc_encode_req(&req, &b1, &l1)) < 0)
		fz_fail("encode_req refuses a decoded request (type %d): %d", req.type, r);
	if ((r = vmh_ipc_decode_req(b1, l1, &again)) < 0)
		fz_fail("decode_req refuses what encode_req wrote: %d", r);
	if ((r = vmh_ipc_encode_req(&again, &b2, &l2)) < 0)
		fz_fail("encode_req refuses its own round trip: %d", r);
	if (l1 != l2 || memcmp(b1, b2, l1) != 0)
		fz_fail("request round trip is not a fixed point");
	free(b1);
	free(b2);
	vmh_ipc_req_clear(&again);
	vmh_ipc_req_clear(&req);
}

static void fuzz_reply(const uint8_t *data, size_t size)
{
	struct vmh_ipc_reply rep, again;
	struct vmh_reg_image img;
	uint8_t *b1 = NULL, *b2 = NULL;
	size_t l1 = 0, l2 = 0;
	int r = vmh_ipc_decode_reply(data, size, &rep);

	check_rc("decode_reply", r);
	if (r < 0)
		return;
	check_frame_len(data, size);
	/* What vmhandoff status does with the image: must not crash either. */
	if (rep.image && vmh_wire_decode_image(rep.image, rep.image_len, &img) == 0)
		vmh_reg_image_free(&img);
	if ((r = vmh_ipc_encode_reply(&rep, &b1, &l1)) < 0)
		fz_fail("encode_reply refuses a decoded reply (type 0x%x): %d", rep.type, r);
	if ((r = vmh_ipc_decode_reply(b1, l1, &again)) < 0)
		fz_fail("decode_reply refuses what encode_reply wrote: %d", r);
	if ((r = vmh_ipc_encode_reply(&again, &b2, &l2)) < 0)
		fz_fail("encode_reply refuses its own round trip: %d", r);
	if (l1 != l2 || memcmp(b1, b2, l1) != 0)
		fz_fail("reply round trip is not a fixed point");
	free(b1);
	free(b2);
	vmh_ipc_reply_clear(&again);
	vmh_ipc_reply_clear(&rep);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ssize_t n = vmh_ipc_frame_len(data, size);

	if (n < 0 ? n != -EBADMSG : (n == 0) != (size < VMH_IPC_HDR_LEN))
		fz_fail("frame_len %zd for %zu bytes", n, size);
	fuzz_req(data, size);
	fuzz_reply(data, size);
	return 0;
}
