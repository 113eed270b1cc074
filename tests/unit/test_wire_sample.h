/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_wire_sample.h: one valid registry record of each type with every
 * field set, for the wire tests and the fuzz seeds (fuzz/gen_seeds.c).
 */
#ifndef TEST_WIRE_SAMPLE_H
#define TEST_WIRE_SAMPLE_H

#include <stdio.h>
#include <string.h>

#include "vmh_wire.h"

static inline struct vmh_msg wire_sample(enum vmh_msg_type t)
{
	struct vmh_msg m = { .type = t, .config = 42, .cookie = 7, .expect = 3 };

	snprintf(m.vm, sizeof(m.vm), "web-01");
	switch (t) {
	case VMH_MSG_CLAIM:
		m.uuid[0] = 0xab;
		m.uuid[15] = 0xcd;
		m.require_fencing = true;
		m.xml = "<domain type='kvm'><name>web-01</name></domain>";
		m.xml_len = strlen(m.xml);
		break;
	case VMH_MSG_CONFIG:
		m.xml = "<domain/>";
		m.xml_len = 9;
		break;
	case VMH_MSG_HANDOFF_BEGIN:
		m.node = 2;
		break;
	case VMH_MSG_NODE_FENCED:
		m.node = 3;
		m.departure = 17;
		m.fence_time = 1700000000;
		break;
	case VMH_MSG_NODE_EXPIRED:
		m.node = 3;
		m.departure = 17;
		m.waited_ms = 12000;
		break;
	case VMH_MSG_ADDRESS:
		m.node = 1;
		snprintf(m.addr, sizeof(m.addr), "fd00:1::5");
		break;
	case VMH_MSG_QUORUM:
		m.quorate = true;
		m.round = 0x0102;
		break;
	case VMH_MSG_SYNC_START:
		m.round = 99;
		m.ring = 1234;
		m.n_members = 3;
		m.members[0] = 1;
		m.members[1] = 2;
		m.members[2] = 5;
		break;
	default:
		break;
	}
	return m;
}

#endif
