/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The registry's wire format: every record round-trips; the decoder
 * rejects every malformed buffer we can think of, and random and mutated
 * buffers never crash it. Strongest property: whatever it accepts
 * re-encodes to exactly the same bytes (only canonical encodings pass).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "test_wire_sample.h"
#include "vmh_wire.h"


/* A small valid image: two nodes, two VMs. */
static void sample_image(struct vmh_reg_image *img)
{
	memset(img, 0, sizeof(*img));
	img->author = 1;
	img->voters = 3;
	img->config = 9;
	img->ring = 12;
	img->quorate = true;
	img->n_nodes = 2;
	img->nodes = calloc(2, sizeof(*img->nodes));
	assert_non_null(img->nodes);
	img->nodes[0] = (struct vmh_node_info){ .nodeid = 1, .member = true, .quorate = true,
						.addr_config = 4, .addr = "198.18.1.11" };
	img->nodes[1] = (struct vmh_node_info){ .nodeid = 2, .left = 8, .fenced_for = 8,
						.fence_time = 5, .clean = true };
	img->n_vms = 2;
	img->vms = calloc(2, sizeof(*img->vms));
	assert_non_null(img->vms);
	img->vms[0] = (struct vmh_vm_info){ .name = "a", .state = VMH_VM_MIGRATING, .owner = 1,
					    .dst = 2, .epoch = 5, .vkey_config = 9, .vkey_epoch = 4,
					    .require_fencing = true };
	img->vms[0].xml = strdup("<domain/>");
	img->vms[0].xml_len = 9;
	vmh_sha256(img->vms[0].xml, 9, img->vms[0].digest);
	img->vms[1] = (struct vmh_vm_info){ .name = "b c", .state = VMH_VM_STOPPED, .epoch = 2,
					    .vkey_config = 3, .vkey_epoch = 2 };
	img->vms[1].xml = strdup("");
	vmh_sha256("", 0, img->vms[1].digest);
	assert_int_equal(vmh_reg_image_check(img), 0);
}

static void roundtrip(const struct vmh_msg *in)
{
	struct vmh_msg out;
	uint8_t *buf, *again;
	size_t len, len2;

	assert_int_equal(vmh_wire_encode(in, &buf, &len), 0);
	assert_int_equal(vmh_wire_decode(buf, len, &out), 0);
	assert_int_equal(out.type, in->type);
	assert_int_equal(out.config, in->config);
	assert_int_equal(out.cookie, in->cookie);
	assert_int_equal(vmh_wire_encode(&out, &again, &len2), 0);
	assert_int_equal(len, len2);
	assert_memory_equal(buf, again, len);
	vmh_wire_msg_clear(&out);
	free(buf);
	free(again);
}

static void test_roundtrip_all(void **state)
{
	struct vmh_reg_image img;
	struct vmh_msg m, out;
	uint8_t *buf;
	size_t len;

	(void)state;
	for (int t = VMH_MSG_CLAIM; t <= VMH_MSG_SYNC_START; t++) {
		m = wire_sample((enum vmh_msg_type)t);
		roundtrip(&m);
	}
	/* Field by field for the richest ones. */
	m = wire_sample(VMH_MSG_CLAIM);
	assert_int_equal(vmh_wire_encode(&m, &buf, &len), 0);
	assert_int_equal(vmh_wire_decode(buf, len, &out), 0);
	assert_string_equal(out.vm, "web-01");
	assert_int_equal(out.expect, 3);
	assert_memory_equal(out.uuid, m.uuid, 16);
	assert_true(out.require_fencing);
	assert_int_equal(out.xml_len, m.xml_len);
	assert_string_equal(out.xml, m.xml);
	vmh_wire_msg_clear(&out);
	free(buf);
	m = wire_sample(VMH_MSG_NODE_FENCED);
	assert_int_equal(vmh_wire_encode(&m, &buf, &len), 0);
	assert_int_equal(len, 8 + 16 + 24);
	assert_int_equal(vmh_wire_decode(buf, len, &out), 0);
	assert_int_equal(out.node, 3);
	assert_int_equal(out.departure, 17);
	assert_int_equal(out.fence_time, 1700000000);
	vmh_wire_msg_clear(&out);
	free(buf);
	/* Little-endian, header first. */
	m = wire_sample(VMH_MSG_QUORUM);
	assert_int_equal(vmh_wire_encode(&m, &buf, &len), 0);
	{
		static const uint8_t want[] = { 10, 0, 1, 0, 32, 0, 0, 0, 42, 0, 0, 0, 0, 0, 0, 0,
						7, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
						2, 1, 0, 0, 0, 0, 0, 0 };

		assert_int_equal(len, sizeof(want));
		assert_memory_equal(buf, want, sizeof(want));
	}
	free(buf);
	/* SYNC carries a whole image. */
	sample_image(&img);
	m = (struct vmh_msg){ .type = VMH_MSG_SYNC, .config = 9, .round = 5, .image = &img };
	roundtrip(&m);
	assert_int_equal(vmh_wire_encode(&m, &buf, &len), 0);
	assert_int_equal(vmh_wire_decode(buf, len, &out), 0);
	assert_non_null(out.image);
	assert_int_equal(out.image->n_vms, 2);
	assert_string_equal(out.image->vms[1].name, "b c");
	assert_memory_equal(out.image->vms[0].digest, img.vms[0].digest, 32);
	assert_string_equal(out.image->nodes[0].addr, "198.18.1.11");
	vmh_wire_msg_clear(&out);
	free(buf);
	vmh_reg_image_free(&img);
}

static void test_snapshot(void **state)
{
	struct vmh_reg_image img, back;
	uint8_t *buf, *again;
	size_t len, len2;
	struct vmh_msg m;

	(void)state;
	sample_image(&img);
	assert_int_equal(vmh_wire_encode_image(&img, &buf, &len), 0);
	assert_int_equal(len, 8 + 40 + 2 * 112 + 2 * 120 + 9);
	assert_int_equal(vmh_wire_decode_image(buf, len, &back), 0);
	assert_int_equal(vmh_wire_encode_image(&back, &again, &len2), 0);
	assert_int_equal(len, len2);
	assert_memory_equal(buf, again, len);
	/* A snapshot is not a message, and a message not a snapshot. */
	assert_int_equal(vmh_wire_decode(buf, len, &m), -ENOMSG);
	free(again);
	vmh_reg_image_free(&back);
	m = wire_sample(VMH_MSG_RELEASE);
	assert_int_equal(vmh_wire_encode(&m, &again, &len2), 0);
	assert_int_equal(vmh_wire_decode_image(again, len2, &back), -ENOMSG);
	free(again);
	/* Invalid images are refused by the encoder too. */
	img.vms[0].owner = 2;		/* owner == dst */
	assert_int_equal(vmh_wire_encode_image(&img, &again, &len2), -EINVAL);
	img.vms[0].owner = 1;
	{
		struct vmh_vm_info t = img.vms[0];	/* unsorted */

		img.vms[0] = img.vms[1];
		img.vms[1] = t;
		assert_int_equal(vmh_wire_encode_image(&img, &again, &len2), -EINVAL);
		img.vms[1] = img.vms[0];
		img.vms[0] = t;
	}
	free(buf);
	vmh_reg_image_free(&img);
}

static int decode_bytes(uint8_t *buf, size_t len)
{
	struct vmh_msg m;
	int r = vmh_wire_decode(buf, len, &m);

	if (r == 0)
		vmh_wire_msg_clear(&m);
	return r;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void test_rejects(void **state)
{
	struct vmh_msg m = wire_sample(VMH_MSG_CLAIM);
	uint8_t *buf, *big;
	size_t len;

	(void)state;
	assert_int_equal(vmh_wire_encode(&m, &buf, &len), 0);
	/* Short, long, lying lengths. */
	assert_int_equal(decode_bytes(buf, 0), -EBADMSG);
	assert_int_equal(decode_bytes(buf, 7), -EBADMSG);
	assert_int_equal(decode_bytes(buf, len - 1), -EBADMSG);
	big = malloc(len + 1);
	memcpy(big, buf, len);
	big[len] = 0;
	assert_int_equal(decode_bytes(big, len + 1), -EBADMSG);
	put_le32(big + 4, (uint32_t)len - 8 + 1);	/* header agrees: trailing byte */
	assert_int_equal(decode_bytes(big, len + 1), -EBADMSG);
	free(big);
	/* Unknown type, other version. */
	buf[0] = 77;
	assert_int_equal(decode_bytes(buf, len), -ENOMSG);
	buf[0] = 0;
	assert_int_equal(decode_bytes(buf, len), -ENOMSG);
	buf[0] = VMH_MSG_CLAIM;
	buf[2] = 2;
	assert_int_equal(decode_bytes(buf, len), -EPROTONOSUPPORT);
	buf[2] = 1;
	assert_int_equal(decode_bytes(buf, len), 0);
	/* Non-zero reserved bytes (common, vm, claim). */
	buf[8 + 12] = 1;
	assert_int_equal(decode_bytes(buf, len), -EBADMSG);
	buf[8 + 12] = 0;
	buf[8 + 16 + 9] = 1;
	assert_int_equal(decode_bytes(buf, len), -EBADMSG);
	buf[8 + 16 + 9] = 0;
	buf[8 + 16 + 80 + 16] = 3;			/* unknown flag bit */
	assert_int_equal(decode_bytes(buf, len), -EBADMSG);
	buf[8 + 16 + 80 + 16] = 1;
	/* Names: empty, too long, '/', garbage after the length. */
	buf[8 + 16 + 8] = 0;
	assert_int_equal(decode_bytes(buf, len), -EBADMSG);
	buf[8 + 16 + 8] = 65;
	assert_int_equal(decode_bytes(buf, len), -EBADMSG);
	buf[8 + 16 + 8] = 6;
	buf[8 + 16 + 16 + 3] = '/';
	assert_int_equal(decode_bytes(buf, len), -EBADMSG);
	buf[8 + 16 + 16 + 3] = '-';
	buf[8 + 16 + 16 + 10] = 'x';
	assert_int_equal(decode_bytes(buf, len), -EBADMSG);
	buf[8 + 16 + 16 + 10] = 0;
	assert_int_equal(decode_bytes(buf, len), 0);
	/* XML: overrun, oversized, NUL inside. */
	put_le32(buf + 8 + 16 + 80 + 20, (uint32_t)m.xml_len + 1);
	assert_int_equal(decode_bytes(buf, len), -EBADMSG);
	put_le32(buf + 8 + 16 + 80 + 20, 0xffffffffu);
	assert_int_equal(decode_bytes(buf, len), -EBADMSG);
	put_le32(buf + 8 + 16 + 80 + 20, (uint32_t)m.xml_len);
	buf[len - 3] = 0;
	assert_int_equal(decode_bytes(buf, len), -EBADMSG);
	free(buf);
	/* An XML over the limit can not be encoded, nor decoded. */
	{
		size_t n = VMH_REG_XML_MAX + 1;
		char *xml = malloc(n + 1);

		memset(xml, 'x', n);
		xml[n] = 0;
		m.xml = xml;
		m.xml_len = n;
		assert_int_equal(vmh_wire_encode(&m, &buf, &len), -EMSGSIZE);
		m.xml_len = n - 1;
		assert_int_equal(vmh_wire_encode(&m, &buf, &len), 0);
		put_le32(buf + 8 + 16 + 80 + 20, (uint32_t)n);
		big = realloc(buf, len + 1);
		big[len] = 'x';
		put_le32(big + 4, (uint32_t)(len + 1 - 8));
		assert_int_equal(decode_bytes(big, len + 1), -EBADMSG);
		free(big);
		free(xml);
	}
	/* Encoder refuses what the decoder would. */
	m = wire_sample(VMH_MSG_CLAIM);
	snprintf(m.vm, sizeof(m.vm), "a/b");
	assert_int_equal(vmh_wire_encode(&m, &buf, &len), -EINVAL);
	m = wire_sample(VMH_MSG_CONFIG);
	m.xml_len = 0;
	assert_int_equal(vmh_wire_encode(&m, &buf, &len), -EINVAL);
	m = wire_sample(VMH_MSG_ADDRESS);
	snprintf(m.addr, sizeof(m.addr), "a b");
	assert_int_equal(vmh_wire_encode(&m, &buf, &len), -EINVAL);
	m = wire_sample(VMH_MSG_SYNC_START);
	m.n_members = 0;
	assert_int_equal(vmh_wire_encode(&m, &buf, &len), -EINVAL);
	m.type = (enum vmh_msg_type)55;
	assert_int_equal(vmh_wire_encode(&m, &buf, &len), -EINVAL);
	/* Node 0, departure 0, round 0, a QUORUM byte of 2: the encoder
	 * refuses what the decoder refuses; frames patched to carry them do
	 * not decode. */
	m = wire_sample(VMH_MSG_NODE_EXPIRED);
	m.node = 0;
	assert_int_equal(vmh_wire_encode(&m, &buf, &len), -EINVAL);
	m = wire_sample(VMH_MSG_NODE_EXPIRED);
	assert_int_equal(vmh_wire_encode(&m, &buf, &len), 0);
	memset(buf + 8 + 16, 0, 4);		/* node 0 */
	assert_int_equal(decode_bytes(buf, len), -EBADMSG);
	free(buf);
	m = wire_sample(VMH_MSG_NODE_FENCED);
	m.departure = 0;
	assert_int_equal(vmh_wire_encode(&m, &buf, &len), -EINVAL);
	m = wire_sample(VMH_MSG_NODE_FENCED);
	assert_int_equal(vmh_wire_encode(&m, &buf, &len), 0);
	memset(buf + 8 + 16 + 8, 0, 8);		/* departure 0 */
	assert_int_equal(decode_bytes(buf, len), -EBADMSG);
	free(buf);
	m = wire_sample(VMH_MSG_HANDOFF_BEGIN);
	m.node = 0;
	assert_int_equal(vmh_wire_encode(&m, &buf, &len), -EINVAL);
	m = wire_sample(VMH_MSG_SYNC_START);
	m.round = 0;
	assert_int_equal(vmh_wire_encode(&m, &buf, &len), -EINVAL);
	m.round = 99;
	assert_int_equal(vmh_wire_encode(&m, &buf, &len), 0);
	memset(buf + 8 + 16, 0, 8);		/* round 0 */
	assert_int_equal(decode_bytes(buf, len), -EBADMSG);
	free(buf);
	m = wire_sample(VMH_MSG_QUORUM);
	assert_int_equal(vmh_wire_encode(&m, &buf, &len), 0);
	buf[8 + 16] = 2;
	assert_int_equal(decode_bytes(buf, len), -EBADMSG);
	free(buf);
	/* SYNC_START that claims more members than it carries. */
	m = wire_sample(VMH_MSG_SYNC_START);
	assert_int_equal(vmh_wire_encode(&m, &buf, &len), 0);
	put_le32(buf + 8 + 16 + 16, 4);
	assert_int_equal(decode_bytes(buf, len), -EBADMSG);
	put_le32(buf + 8 + 16 + 16, 1000);
	assert_int_equal(decode_bytes(buf, len), -EBADMSG);
	free(buf);
}

static void test_image_rejects(void **state)
{
	struct vmh_reg_image img, back;
	uint8_t *buf;
	size_t len;
	const size_t nodes = 8 + 40, vms = nodes + 2 * 112;

	(void)state;
	sample_image(&img);
	assert_int_equal(vmh_wire_encode_image(&img, &buf, &len), 0);
	/* Counts larger than what follows. */
	put_le32(buf + 8 + 28, 3);
	assert_int_equal(vmh_wire_decode_image(buf, len, &back), -EBADMSG);
	put_le32(buf + 8 + 28, 200);
	assert_int_equal(vmh_wire_decode_image(buf, len, &back), -EBADMSG);
	put_le32(buf + 8 + 28, 2);
	put_le32(buf + 8 + 32, 0xffffffffu);
	assert_int_equal(vmh_wire_decode_image(buf, len, &back), -EBADMSG);
	put_le32(buf + 8 + 32, 2);
	/* The last sync's ring above the membership's. */
	buf[8 + 8] = 13;
	assert_int_equal(vmh_wire_decode_image(buf, len, &back), -EBADMSG);
	buf[8 + 8] = 9;
	assert_int_equal(vmh_wire_decode_image(buf, len, &back), 0);
	vmh_reg_image_free(&back);
	/* Node ids out of order, node 0, unknown node flag. */
	put_le32(buf + nodes + 112, 1);
	assert_int_equal(vmh_wire_decode_image(buf, len, &back), -EBADMSG);
	put_le32(buf + nodes + 112, 0);
	assert_int_equal(vmh_wire_decode_image(buf, len, &back), -EBADMSG);
	put_le32(buf + nodes + 112, 2);
	buf[nodes + 4] |= 0x80;
	assert_int_equal(vmh_wire_decode_image(buf, len, &back), -EBADMSG);
	buf[nodes + 4] &= 0x7f;
	/* A member that has a departure: inconsistent. */
	buf[nodes + 112 + 4] |= 0x01;
	assert_int_equal(vmh_wire_decode_image(buf, len, &back), -EBADMSG);
	buf[nodes + 112 + 4] &= (uint8_t)~0x01;
	/* VM: bad state, owner for a STOPPED VM, epoch 0, version key from
	 * the future, key above the epoch. */
	buf[vms + 1] = 7;
	assert_int_equal(vmh_wire_decode_image(buf, len, &back), -EBADMSG);
	buf[vms + 1] = VMH_VM_MIGRATING;
	put_le32(buf + vms + 129 + 4, 1);
	assert_int_equal(vmh_wire_decode_image(buf, len, &back), -EBADMSG);
	put_le32(buf + vms + 129 + 4, 0);
	buf[vms + 16] = 0;
	assert_int_equal(vmh_wire_decode_image(buf, len, &back), -EBADMSG);
	buf[vms + 16] = 5;
	buf[vms + 24] = 10;
	assert_int_equal(vmh_wire_decode_image(buf, len, &back), -EBADMSG);
	buf[vms + 24] = 9;
	buf[vms + 32] = 6;
	assert_int_equal(vmh_wire_decode_image(buf, len, &back), -EBADMSG);
	buf[vms + 32] = 4;
	assert_int_equal(vmh_wire_decode_image(buf, len, &back), 0);
	vmh_reg_image_free(&back);
	free(buf);
	vmh_reg_image_free(&img);
}

/* xorshift64*: a fixed-seed generator of our own, same on every libc. */
static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

/* Accepts only what re-encodes to itself. */
static void check_canonical(const uint8_t *buf, size_t len, unsigned *accepted)
{
	struct vmh_msg m;
	uint8_t *again;
	size_t len2;
	int r = vmh_wire_decode(buf, len, &m);

	assert_true(r == 0 || r == -EBADMSG || r == -ENOMSG || r == -EPROTONOSUPPORT);
	if (r < 0)
		return;
	(*accepted)++;
	assert_int_equal(vmh_wire_encode(&m, &again, &len2), 0);
	assert_int_equal(len2, len);
	assert_memory_equal(again, buf, len);
	free(again);
	vmh_wire_msg_clear(&m);
}

static void test_fuzz(void **state)
{
	const char *env = getenv("VMH_FUZZ_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : 0x5eed0001ULL;
	uint8_t *valid[VMH_MSG_SYNC + 1];
	size_t vlen[VMH_MSG_SYNC + 1];
	unsigned accepted = 0, mutated_ok = 0;
	struct vmh_reg_image img;
	uint8_t buf[4096];

	(void)state;
	print_message("wire fuzz seed 0x%llx (VMH_FUZZ_SEED to replay)\n", (unsigned long long)seed);
	rng_state = seed;
	sample_image(&img);
	for (int t = VMH_MSG_CLAIM; t <= VMH_MSG_SYNC; t++) {
		struct vmh_msg m = wire_sample((enum vmh_msg_type)t);

		if (t == VMH_MSG_SYNC) {
			m.round = 3;
			m.image = &img;
		}
		assert_int_equal(vmh_wire_encode(&m, &valid[t], &vlen[t]), 0);
	}
	/* Random bytes, sometimes behind a plausible header. */
	for (int i = 0; i < 20000; i++) {
		size_t len = rnd() % 400;

		for (size_t k = 0; k < len; k++)
			buf[k] = (uint8_t)rnd();
		if (len >= 8 && rnd() % 2) {
			buf[0] = (uint8_t)(1 + rnd() % 12);
			buf[1] = 0;
			buf[2] = 1;
			buf[3] = 0;
			put_le32(buf + 4, (uint32_t)(len - 8));
		}
		check_canonical(buf, len, &accepted);
	}
	/* Mutations of valid buffers: flips, truncation, extension, length
	 * fields rewritten. */
	for (int i = 0; i < 60000; i++) {
		int t = VMH_MSG_CLAIM + (int)(rnd() % VMH_MSG_SYNC);
		size_t len = vlen[t], before = accepted;

		assert_true(len <= sizeof(buf) - 16);
		memcpy(buf, valid[t], len);
		switch (rnd() % 5) {
		case 0:
			buf[rnd() % len] ^= (uint8_t)(1u << (rnd() % 8));
			break;
		case 1:
			for (int k = 0; k < 4; k++)
				buf[rnd() % len] = (uint8_t)rnd();
			break;
		case 2:
			len = rnd() % len;
			break;
		case 3:
			buf[len] = (uint8_t)rnd();
			len += 1 + rnd() % 8;
			put_le32(buf + 4, (uint32_t)(len - 8));
			break;
		case 4:
			put_le32(buf + 8 + (rnd() % ((len - 8) / 4)) * 4, (uint32_t)rnd());
			break;
		}
		check_canonical(buf, len, &accepted);
		if (accepted > before)
			mutated_ok++;
	}
	/* A flip in a counter, the uuid or the XML text leaves a valid
	 * message (and canonical, as checked); the rest must be refused. */
	print_message("fuzz: %u accepted, of them %u mutated buffers still valid, %u refused\n",
		      accepted, mutated_ok, 60000 - mutated_ok);
	assert_true(60000 - mutated_ok > 20000);
	for (int t = VMH_MSG_CLAIM; t <= VMH_MSG_SYNC; t++)
		free(valid[t]);
	vmh_reg_image_free(&img);
}

/* HANDOFF_STATS: an informational message with its own decoder; the
 * registry's decoder refuses it like any type it does not know, so it
 * never reaches the state machine. */
static void test_stats(void **state)
{
	struct vmh_hist_entry e = { .vm = "web-01", .outcome = VMH_HIST_COMMITTED, .src = 1,
				    .dst = 2, .owner_after = 2, .begin_epoch = 6, .end_epoch = 7,
				    .start_ms = 1700000000123ull, .duration_ms = 620,
				    .flags = VMH_HIST_F_FIGURES, .bytes = 9334784, .job_ms = 992,
				    .downtime_ms = 17, .resume_us = 1234 }, out;
	struct vmh_msg m;
	uint8_t *buf, *again;
	size_t len, len2;

	(void)state;
	assert_int_equal(vmh_wire_encode_stats(&e, &buf, &len), 0);
	assert_int_equal(len, VMH_WIRE_HDR_LEN + VMH_HIST_ENTRY_LEN);
	assert_int_equal(buf[0] | buf[1] << 8, VMH_WIRE_HANDOFF_STATS);
	assert_int_equal(buf[2] | buf[3] << 8, VMH_WIRE_VERSION);
	assert_int_equal(buf[4], VMH_HIST_ENTRY_LEN);
	assert_int_equal(vmh_wire_decode_stats(buf, len, &out), 0);
	assert_string_equal(out.vm, "web-01");
	assert_int_equal(out.end_epoch, 7);
	assert_int_equal(out.bytes, 9334784);
	assert_int_equal(out.resume_us, 1234);
	assert_int_equal(vmh_wire_encode_stats(&out, &again, &len2), 0);
	assert_int_equal(len2, len);
	assert_memory_equal(again, buf, len);
	free(again);
	/* never a registry record: not for vmh_wire_decode, not a snapshot */
	assert_int_equal(vmh_wire_decode(buf, len, &m), -ENOMSG);
	assert_int_equal(m.type, 0);
	{
		struct vmh_reg_image img;

		assert_int_equal(vmh_wire_decode_image(buf, len, &img), -ENOMSG);
	}
	/* the header's checks */
	buf[2] = 2;
	assert_int_equal(vmh_wire_decode_stats(buf, len, &out), -EPROTONOSUPPORT);
	buf[2] = 1;
	assert_int_equal(vmh_wire_decode_stats(buf, len - 1, &out), -EBADMSG);
	buf[0] = VMH_MSG_HANDOFF_COMMIT;
	assert_int_equal(vmh_wire_decode_stats(buf, len, &out), -ENOMSG);
	buf[0] = VMH_WIRE_HANDOFF_STATS;
	/* the entry's rules; a byte more than the entry */
	buf[8 + 3] = 1;
	assert_int_equal(vmh_wire_decode_stats(buf, len, &out), -EBADMSG);
	assert_int_equal(out.src, 0);		/* zeroed on error */
	buf[8 + 3] = 0;
	{
		uint8_t longer[VMH_WIRE_HDR_LEN + VMH_HIST_ENTRY_LEN + 1] = { 0 };

		memcpy(longer, buf, len);
		longer[4] = VMH_HIST_ENTRY_LEN + 1;
		assert_int_equal(vmh_wire_decode_stats(longer, sizeof(longer), &out), -EBADMSG);
	}
	free(buf);
	/* an entry still migrating has no figures to send, on either side */
	{
		struct vmh_hist_entry open = { .vm = "web-01", .outcome = VMH_HIST_MIGRATING, .src = 1,
					       .dst = 2, .begin_epoch = 6, .start_ms = 1 };
		uint8_t raw[VMH_WIRE_HDR_LEN + VMH_HIST_ENTRY_LEN] = { VMH_WIRE_HANDOFF_STATS, 0, 1, 0,
								       VMH_HIST_ENTRY_LEN };
		struct vmh_bw w = { .p = raw, .pos = VMH_WIRE_HDR_LEN, .cap = sizeof(raw) };

		assert_int_equal(vmh_wire_encode_stats(&open, &buf, &len), -EINVAL);
		vmh_hist_put_entry(&w, &open);
		assert_int_equal(vmh_wire_decode_stats(raw, sizeof(raw), &out), -EBADMSG);
	}
	e.src = 0;
	assert_int_equal(vmh_wire_encode_stats(&e, &buf, &len), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_all),
		cmocka_unit_test(test_snapshot),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_image_rejects),
		cmocka_unit_test(test_fuzz),
		cmocka_unit_test(test_stats),
	};

	return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
