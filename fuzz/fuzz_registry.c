/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the registry state machine (vmh_registry), fed event
 * sequences decoded from the input.
 *
 * A cluster of 3 to 5 replicas runs on the simulated CPG of
 * tests/unit/test_registry_harness.h (the real wire codec in between,
 * extended virtual synchrony on partition changes). Each input byte
 * picks an event, the next bytes its arguments: deliveries, VM records
 * of any type with any expected epoch from any member, addresses and
 * quorum reports (true or not), fencing and expiry witnesses (true or
 * not), corosync quorum flaps, partitions and merges, daemon stops and
 * starts from the saved state, host crashes. Unlike the property test
 * (tests/unit/test_registry_prop.c) the senders are not well behaved: the
 * registry's own guarantees must hold whatever is sent.
 *
 * After every event:
 *   - never two owners: at most one node, asking its own replica,
 *     may_run() a VM (all partitions counted);
 *   - every replica's epoch of every VM only grows;
 *   - the running replicas of one group are all syncing, or identical;
 *   - replicas agree on every verdict and a rejected message changes
 *     nothing (the harness's check_unchanged), every state passes
 *     vmh_reg_image_check() and encodes, decoded messages were encoded;
 *   - no vmh_reg_* call fails (-EINVAL, -ENOMEM: a diverged replica).
 */
#include "fuzz.h"
#include "test_registry_harness.h"

#define MAX_NODES 5
#define NVMS 3
#define MAX_EVENTS 600

struct fz {
	const uint8_t *p;
	size_t n;
};

static unsigned byte(struct fz *f)
{
	if (!f->n)
		return 0;
	f->n--;
	return *f->p++;
}

static unsigned pick(struct fz *f, unsigned n)
{
	return n ? byte(f) % n : 0;
}

struct world {
	struct h_cluster c;
	int n;
	uint8_t *saved[H_MAX];		/* state files (image bytes) */
	size_t saved_len[H_MAX];
	uint64_t epoch_seen[H_MAX][NVMS];
	int events;
};

static const char *const vm_names[NVMS] = { "vm0", "vm1", "vm2" };

/* FUZZ_REGISTRY_STATS=1: at exit, how many records of each type were
 * accepted and rejected over all inputs run (does the corpus reach
 * takeovers, commits, aborts?). */
static unsigned long accepted[VMH_MSG_TYPE_MAX + 1], rejected[VMH_MSG_TYPE_MAX + 1];

static void count(struct h_cluster *c, int node, uint32_t sender, const struct vmh_msg *m,
		  enum vmh_reg_reason why, uint64_t epoch_before, bool changed)
{
	(void)c;
	(void)node;
	(void)sender;
	(void)epoch_before;
	(void)changed;
	if ((unsigned)m->type <= VMH_MSG_TYPE_MAX)
		(why == VMH_REG_OK ? accepted : rejected)[m->type]++;
}

static void print_stats(void)
{
	static const char *const names[VMH_MSG_TYPE_MAX + 1] = {
		"?", "CLAIM", "RELEASE", "BEGIN", "COMMIT", "ABORT", "CONFIG", "FENCED",
		"EXPIRED", "ADDRESS", "QUORUM", "SYNC_START", "SYNC",
	};

	for (int t = 1; t <= VMH_MSG_TYPE_MAX; t++)
		fprintf(stderr, "registry stats: %-10s accepted %lu, rejected %lu\n", names[t],
			accepted[t], rejected[t]);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (getenv("FUZZ_REGISTRY_STATS"))
		atexit(print_stats);
	return 0;
}

static void wfail(struct world *w, const char *what)
{
	fz_fail("event %d: %s", w->events, what);
}

/* Multicast as a daemon does: a record the encoder refuses is not sent
 * (the daemon gets the error). NOTE vmh_wire_encode() accepts a few
 * records that every decoder refuses (node 0 in BEGIN, FENCED, EXPIRED,
 * ADDRESS; departure 0; SYNC round 0; SYNC_START member 0), although
 * vmh_wire.h says it refuses them, and tests/unit/test_wire.c builds bad
 * frames that way. Every replica drops such a record alike, so it is not
 * sent here. What the registry's own effects send (the harness's h_send)
 * must always decode. */
static void send(struct world *w, int node, const struct vmh_msg *m)
{
	int g = w->c.group[node - 1];
	struct vmh_msg back;
	uint8_t *buf;
	size_t len;

	if (g < 0 || (w->c.down & h_bit(node)))
		return;
	if (vmh_wire_encode(m, &buf, &len) < 0)
		return;
	if (vmh_wire_decode(buf, len, &back) < 0) {
		free(buf);
		return;
	}
	vmh_wire_msg_clear(&back);
	h_push(&w->c.q[g], (uint32_t)node, buf, len);
}

static uint64_t view_epoch(struct world *w, int node, int v)
{
	return h_epoch(w->c.reg[node - 1], vm_names[v]);
}

/* The record a daemon would send next from what its replica shows:
 * claim what is stopped, unknown or someone else's; hand off, release or
 * reconfigure its own; commit or abort a migration it is part of. */
static enum vmh_msg_type guided_type(struct world *w, int s, int v, unsigned t, uint32_t *dst)
{
	struct vmh_vm_info vi;
	uint32_t members[H_MAX];
	int k;

	if (vmh_reg_vm(w->c.reg[s - 1], vm_names[v], &vi) < 0 || vi.state == VMH_VM_STOPPED)
		return VMH_MSG_CLAIM;
	if (vi.state == VMH_VM_MIGRATING)
		return vi.owner == (uint32_t)s || vi.dst == (uint32_t)s ?
			       (t & 1 ? VMH_MSG_HANDOFF_COMMIT : VMH_MSG_HANDOFF_ABORT) : VMH_MSG_CLAIM;
	if (vi.owner != (uint32_t)s)
		return VMH_MSG_CLAIM;
	switch (t % 4) {
	case 0:
		return VMH_MSG_RELEASE;
	case 1:
		return VMH_MSG_CONFIG;
	default:
		k = h_members(&w->c, w->c.group[s - 1], members);
		for (int j = 0; j < k; j++)
			if (members[(j + (int)(t >> 2)) % k] != (uint32_t)s) {
				*dst = members[(j + (int)(t >> 2)) % k];
				break;
			}
		return VMH_MSG_HANDOFF_BEGIN;
	}
}

/* A VM record from any member: bytes sender, vm, flags, xml, type, [config],
 * node. Flags: bits 0-2 the expected epoch (0-4: the one the sender sees),
 * 3 require_fencing, 4-5 a uuid, 6 the type the sender's view suggests
 * (guided_type) instead of the type byte's, 7 a config byte follows. */
static void send_vm_record(struct world *w, struct fz *f)
{
	static const char *const xmls[] = { NULL, "<domain/>", "<domain><name>x</name></domain>",
					    "<domain><memory>1</memory></domain>" };
	int s = 1 + (int)pick(f, (unsigned)w->n), v = (int)pick(f, NVMS);
	unsigned how = byte(f), x = pick(f, 4), t = byte(f);
	struct vmh_msg m = { .type = (enum vmh_msg_type)(VMH_MSG_CLAIM + (int)(t % 6)) };
	uint64_t e = view_epoch(w, s, v);
	uint32_t dst = 0;

	if (how & 0x40)
		m.type = guided_type(w, s, v, t, &dst);
	snprintf(m.vm, sizeof(m.vm), "%s", vm_names[v]);
	m.config = vmh_reg_config(w->c.reg[s - 1]);
	m.cookie = how;
	switch (how & 7) {
	case 5: m.expect = 0; break;
	case 6: m.expect = e + 1; break;
	case 7: m.expect = e ? e - 1 : 2; break;
	default: m.expect = e; break;
	}
	if (how & 0x80)
		m.config = (uint64_t)byte(f) * 4;	/* a future or past configuration */
	m.require_fencing = (how & 0x08) != 0;
	if (how & 0x10) {
		m.uuid[0] = (uint8_t)(1 + (how >> 5 & 1));	/* two distinct uuids */
		m.uuid[15] = 0x5a;
	}
	m.node = (uint32_t)pick(f, (unsigned)w->n + 1);	/* BEGIN: 0 is refused */
	if (dst)
		m.node = dst;
	if (m.type == VMH_MSG_CONFIG && !x)
		x = 1;
	m.xml = xmls[x];
	m.xml_len = m.xml ? strlen(m.xml) : 0;
	send(w, s, &m);
}

static void send_other(struct world *w, struct fz *f)
{
	static const char *const addrs[] = { "198.18.1.10", "fd00:1::5", "[fe80::1%eth0]", "bad addr" };
	int s = 1 + (int)pick(f, (unsigned)w->n);
	unsigned how = byte(f);
	struct vmh_msg m = { .config = vmh_reg_config(w->c.reg[s - 1]) };

	if (how & 1) {
		m.type = VMH_MSG_ADDRESS;
		m.node = how & 2 ? (uint32_t)s : (uint32_t)pick(f, (unsigned)w->n + 1);
		snprintf(m.addr, sizeof(m.addr), "%s", addrs[how >> 2 & 3]);
	} else {
		/* The truth, or a lie about its quorum or its last round. */
		m.type = VMH_MSG_QUORUM;
		m.quorate = how & 2 ? !w->c.quorate[s - 1] : w->c.quorate[s - 1];
		m.round = how & 4 ? (uint64_t)byte(f) : vmh_reg_last_round(w->c.reg[s - 1]);
	}
	send(w, s, &m);
}

/* A witness about x, for the departure the sender knows of (or another). */
static void send_witness(struct world *w, struct fz *f)
{
	int s = 1 + (int)pick(f, (unsigned)w->n), x = 1 + (int)pick(f, (unsigned)w->n);
	unsigned how = byte(f);
	struct vmh_node_info ni;
	struct vmh_msg m = { .config = vmh_reg_config(w->c.reg[s - 1]) };

	m.type = how & 1 ? VMH_MSG_NODE_FENCED : VMH_MSG_NODE_EXPIRED;
	m.node = (uint32_t)x;
	if (vmh_reg_node(w->c.reg[s - 1], (uint32_t)x, &ni) == 0 && ni.left && !(how & 2))
		m.departure = ni.left;
	else
		m.departure = (uint64_t)byte(f);
	m.fence_time = how >> 2;
	m.waited_ms = how * 1000u;
	send(w, s, &m);
}

static void deliver(struct world *w, struct fz *f)
{
	int g = w->c.group[pick(f, (unsigned)w->n)], burst = 1 + (int)pick(f, 8);

	for (int b = 0; b < burst; b++)
		if (!h_step(&w->c, g))
			for (int k = 0; k < H_MAX && !h_step(&w->c, k); k++)
				;
}

static void flap_quorum(struct world *w, struct fz *f)
{
	int x = 1 + (int)pick(f, (unsigned)w->n);

	if (!(w->c.down & h_bit(x)))
		h_set_quorate(&w->c, x, pick(f, 2) != 0);
}

static void repartition(struct world *w, struct fz *f)
{
	int group_of[H_MAX] = { 0 };
	uint32_t clean = byte(f);

	for (int i = 0; i < w->n; i++)
		group_of[i] = (int)pick(f, 3);
	h_partition(&w->c, group_of, clean & ((1u << w->n) - 1));
}

/* x's daemon saves its state after every input that changed it: the file
 * holds what the replica holds, which is what it has when it stops. */
static void save(struct world *w, int x)
{
	free(w->saved[x - 1]);
	w->saved[x - 1] = NULL;
	if (vmh_wire_encode_image(vmh_reg_image(w->c.reg[x - 1]), &w->saved[x - 1],
				  &w->saved_len[x - 1]) < 0)
		wfail(w, "a state does not encode");
}

/* A daemon starting from its state file. */
static struct vmh_registry *from_disk(struct world *w, int x)
{
	struct vmh_registry *reg = vmh_reg_new((uint32_t)x, (uint32_t)w->n);
	struct vmh_reg_image img;

	if (!reg)
		wfail(w, "vmh_reg_new");
	if (!w->saved[x - 1])
		return reg;
	if (vmh_wire_decode_image(w->saved[x - 1], w->saved_len[x - 1], &img) < 0)
		wfail(w, "a saved state does not decode");
	if (vmh_reg_load(reg, &img) < 0)
		wfail(w, "a saved state does not load");
	vmh_reg_image_free(&img);
	return reg;
}

/* Only x's daemon stops: a clean CPG leave in the same ring. */
static void daemon_down(struct world *w, struct fz *f)
{
	int x = 1 + (int)pick(f, (unsigned)w->n), g = w->c.group[x - 1];
	uint32_t rest[H_MAX], gone = (uint32_t)x;
	int nr;

	if (w->c.down & h_bit(x))
		return;
	save(w, x);
	h_drop_unsent(&w->c, x);
	w->c.down |= h_bit(x);
	nr = h_members(&w->c, g, rest);
	h_confchg(&w->c, rest, nr, &gone, 1, w->c.gmask[g], w->c.ring[x - 1]);
	vmh_reg_free(w->c.reg[x - 1]);
	w->c.reg[x - 1] = vmh_reg_new((uint32_t)x, (uint32_t)w->n);	/* not running */
}

static void daemon_up(struct world *w, struct fz *f)
{
	int x = 1 + (int)pick(f, (unsigned)w->n), g = w->c.group[x - 1];
	uint32_t members[H_MAX];
	int k;

	if (!(w->c.down & h_bit(x)))
		return;
	w->c.down &= ~h_bit(x);
	vmh_reg_free(w->c.reg[x - 1]);
	w->c.reg[x - 1] = from_disk(w, x);
	h_set_quorate(&w->c, x, w->c.quorate[x - 1]);
	k = h_members(&w->c, g, members);
	h_confchg(&w->c, members, k, NULL, 0, w->c.gmask[g], w->c.ring[x - 1]);
}

/* x's host crashes and comes back: its group sees it leave (lost, not
 * clean) and return, its daemon starts from its state file. */
static void reboot(struct world *w, struct fz *f)
{
	int x = 1 + (int)pick(f, (unsigned)w->n), g = w->c.group[x - 1];
	uint32_t members[H_MAX], rest[H_MAX];
	int k, nr = 0;

	if (!(w->c.down & h_bit(x)))
		save(w, x);
	h_drop_unsent(&w->c, x);
	vmh_reg_free(w->c.reg[x - 1]);
	w->c.reg[x - 1] = from_disk(w, x);
	w->c.quorate[x - 1] = false;
	w->c.down &= ~h_bit(x);
	k = h_members(&w->c, g, members);
	for (int j = 0; j < k; j++)
		if (members[j] != (uint32_t)x)
			rest[nr++] = members[j];
	h_confchg(&w->c, rest, nr, NULL, 0, w->c.gmask[g] & ~h_bit(x), 0);
	h_confchg(&w->c, members, k, NULL, 0, w->c.gmask[g], 0);
}

static void check(struct world *w)
{
	struct h_cluster *c = &w->c;
	char what[400];

	if (c->fail[0]) {
		snprintf(what, sizeof(what), "harness: %s", c->fail);
		wfail(w, what);
	}
	for (int v = 0; v < NVMS; v++) {
		int may = 0;

		for (int n = 1; n <= w->n; n++) {
			uint64_t e = view_epoch(w, n, v);

			if (vmh_reg_may_run(c->reg[n - 1], vm_names[v], (uint32_t)n))
				may++;
			if (c->down & h_bit(n))
				continue;	/* its state is in its file */
			if (e < w->epoch_seen[n - 1][v]) {
				snprintf(what, sizeof(what), "node %d: %s epoch went back from %llu to %llu",
					 n, vm_names[v], (unsigned long long)w->epoch_seen[n - 1][v],
					 (unsigned long long)e);
				wfail(w, what);
			}
			w->epoch_seen[n - 1][v] = e;
		}
		if (may > 1) {
			snprintf(what, sizeof(what), "%s: %d nodes may run it", vm_names[v], may);
			wfail(w, what);
		}
	}
	for (int n = 0; n < w->n; n++)
		if (vmh_reg_image_check(vmh_reg_image(c->reg[n])) < 0) {
			snprintf(what, sizeof(what), "node %d: its state fails vmh_reg_image_check", n + 1);
			wfail(w, what);
		}
	for (int g = 0; g < H_MAX; g++) {
		int first = 0;

		for (int n = 1; n <= w->n; n++) {
			if (!(c->gmask[g] & ~c->down & h_bit(n)))
				continue;
			if (!first) {
				first = n;
				continue;
			}
			if (vmh_reg_syncing(c->reg[n - 1]) != vmh_reg_syncing(c->reg[first - 1]) ||
			    (!vmh_reg_syncing(c->reg[n - 1]) &&
			     !vmh_reg_equal(c->reg[first - 1], c->reg[n - 1]))) {
				snprintf(what, sizeof(what), "group 0x%x: nodes %d and %d differ",
					 c->gmask[g], first, n);
				wfail(w, what);
			}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct world *w = calloc(1, sizeof(*w));
	int all[H_MAX] = { 0 };

	if (!w)
		abort();
	w->n = 3 + (int)pick(&f, MAX_NODES - 2);
	h_init(&w->c, w->n);
	w->c.check_unchanged = true;
	w->c.on_delivered = count;
	h_partition(&w->c, all, 0);
	h_run_all(&w->c);
	check(w);
	for (w->events = 0; f.n && w->events < MAX_EVENTS; w->events++) {
		switch (byte(&f) % 16) {
		case 0: case 1: case 2: case 3: case 4:
			deliver(w, &f);
			break;
		case 5: case 6: case 7:
			send_vm_record(w, &f);
			break;
		case 8:
			send_other(w, &f);
			break;
		case 9:
			send_witness(w, &f);
			break;
		case 10:
			flap_quorum(w, &f);
			break;
		case 11:
			repartition(w, &f);
			break;
		case 12:
			daemon_down(w, &f);
			break;
		case 13:
			daemon_up(w, &f);
			break;
		case 14:
			reboot(w, &f);
			break;
		default:
			h_run_all(&w->c);
			break;
		}
		check(w);
	}
	/* Quiescence: everything queued is delivered; still consistent. */
	h_run_all(&w->c);
	check(w);
	h_destroy(&w->c);
	for (int i = 0; i < H_MAX; i++)
		free(w->saved[i]);
	free(w);
	return 0;
}
