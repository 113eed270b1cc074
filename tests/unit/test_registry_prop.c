/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Property test of the registry: 5 replicas, random partitions and merges
 * (with the tails of the old configuration delivered by some sides only),
 * random messages from random members, crashes with a restart from disk,
 * daemon-only restarts (a clean CPG leave while the guests run),
 * fencing and expiry, migrations, all through the simulated CPG of
 * test_registry_harness.h and the real wire codec.
 *
 * Beside the replicas, a model of the hosts: which node runs which guest.
 * The simulated daemons do what vmh_registry.h asks of vmhandoffd: one
 * request per VM at a time; boot a guest from its disk when their own
 * CLAIM is accepted (a paused local copy is replaced, never resumed); stop
 * it before sending RELEASE; pause on PAUSE_LOCAL after quorum_loss_pause
 * steps unless quorum came back (and resume such a copy only if may_run
 * and the epoch is still the one it was paused at); destroy on REVOKE /
 * ENSURE_NO_* (which takes a step: a destroy races a start elsewhere);
 * resume on RESUME_*; send NODE_EXPIRED only once the node has been out of
 * quorum longer than the pause plus the watchdog timeout, and NODE_FENCED
 * only after fencing it (which kills its guests). A daemon may stop for a
 * few steps while its guests run on: it pauses nothing then, a watchdog
 * resets its host after WATCHDOG steps, and when it starts without quorum
 * it pauses at once.
 *
 * The split model is biased towards the dangerous case: the side that
 * becomes a minority has often delivered a tail of the old ring (say, a
 * CLAIM, and booted the guest) that the majority never sees.
 *
 * Copies have a lineage: a boot from disk starts a new one, a migration
 * carries it to the destination. A running copy writes the disk; resuming
 * a copy whose lineage is not the disk's last writer would run a guest
 * whose memory is older than its disk (corruption), and fails the test.
 *
 * After EVERY step:
 *   1. at most one node, asking its own replica, may_run() each VM (all
 *      partitions counted);
 *   2. at most one node actually runs each VM, and no copy is resumed
 *      after another lineage wrote the disk;
 *   3. on every replica every VM's epoch only grows;
 *   4. the replicas of one partition are all syncing, or all identical;
 *   5. replicas agree on every verdict; a rejected message changes nothing;
 *   6. an oracle restating the rules: nothing but sync/quorum messages is
 *      accepted in a minority configuration, no VM record with an epoch
 *      other than the current one, no sender outside the configuration;
 *   7. no merge ever meets two versions with the same (ring, epoch).
 * Seeds are printed; VMH_PROP_SEED, VMH_PROP_RUNS and VMH_PROP_STEPS replay
 * or lengthen a run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmh_regstore.h"
#include "test_registry_harness.h"

#define NODES 5
#define NVMS 3
#define PAUSE 10		/* quorum_loss_pause, in steps */
#define WATCHDOG 5		/* a host whose daemon is gone resets after */

enum phys { OFF, RUN, PAUSED };

struct model {
	uint64_t seed;
	int step;
	enum phys phys[NODES][NVMS];
	bool complete[NODES][NVMS];	/* holds a complete incoming state */
	uint32_t copy[NODES][NVMS];	/* lineage of the local copy, 0: none */
	int outstanding[NODES][NVMS];	/* own VM records sent, not delivered */
	int daemon_up_at[NODES];	/* the stopped daemon restarts, or -1 */
	int daemon_down_since[NODES];	/* for the watchdog */
	int starting;			/* node whose daemon is starting, or 0 */
	uint32_t disk[NVMS];		/* lineage that wrote the disk last */
	uint32_t next_copy;
	int kill_at[NODES][NVMS];	/* a destroy completes, or -1 */
	int pause_at[NODES][NVMS];	/* quorum-loss pause due, or -1 */
	bool qpaused[NODES][NVMS];	/* paused by the quorum-loss rule ... */
	uint64_t paused_epoch[NODES][NVMS];	/* ... at this epoch */
	int nonq_since[NODES];		/* non-quorate since, or -1 */
	uint64_t epoch_seen[NODES][NVMS];
	uint32_t owner_view[NODES][NVMS];
	uint8_t *saved[NODES];		/* state file contents (image bytes) */
	size_t saved_len[NODES];
	char *dir;
	char fail[512];
	struct {
		unsigned claims, takeovers, begins, commits, aborts, releases, witnesses;
		unsigned repartitions, rounds, conflicts, crashes, fencings, switchovers, restarts;
		unsigned watchdog;
		unsigned rejected, sent;
	} st;
};

static uint64_t rng;
static bool trace;		/* VMH_PROP_TRACE=1: every event on stderr */

#define TRACE(...) do { if (trace) fprintf(stderr, __VA_ARGS__); } while (0)

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1DULL;
}

static unsigned pick(unsigned n)
{
	return (unsigned)(rnd() % n);
}

static const char *vm_name(int v)
{
	static const char *const names[NVMS] = { "vm0", "vm1", "vm2" };

	return names[v];
}

static int vm_index(const char *name)
{
	for (int v = 0; v < NVMS; v++)
		if (strcmp(name, vm_name(v)) == 0)
			return v;
	return -1;
}

static void mfail(struct model *md, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mfail(struct model *md, const char *fmt, ...)
{
	va_list ap;

	if (md->fail[0])
		return;
	va_start(ap, fmt);
	vsnprintf(md->fail, sizeof(md->fail), fmt, ap);
	va_end(ap);
}

static int popcount(uint32_t m)
{
	return __builtin_popcount(m);
}

/* ---- the simulated daemon's reactions ------------------------------- */

static void destroy_now(struct model *md, int n, int v)
{
	md->phys[n][v] = OFF;
	md->complete[n][v] = false;
	md->copy[n][v] = 0;
	md->kill_at[n][v] = -1;
	md->pause_at[n][v] = -1;
	md->qpaused[n][v] = false;
}

static void resume(struct model *md, int n, int v, const char *why)
{
	if (md->disk[v] && md->copy[n][v] != md->disk[v])
		mfail(md, "node %d resumed a stale copy of %s (%s): lineage %u, disk written by %u",
		      n + 1, vm_name(v), why, md->copy[n][v], md->disk[v]);
	md->phys[n][v] = RUN;
	md->qpaused[n][v] = false;
}

static void on_effect(struct h_cluster *c, int node, const struct vmh_reg_effect *e)
{
	struct model *md = c->ctx;
	int v = vm_index(e->vm), n = node - 1;

	TRACE("  %d: effect %s %s epoch %llu\n", node, vmh_reg_effect_str(e->type), e->vm,
	      (unsigned long long)e->epoch);

	switch (e->type) {
	case VMH_EFF_PAUSE_LOCAL:
		if (v >= 0 && node == md->starting && md->phys[n][v] == RUN) {
			/* Starting without quorum: no grace, pause now. */
			md->phys[n][v] = PAUSED;
			md->qpaused[n][v] = true;
			md->paused_epoch[n][v] = e->epoch;
		} else if (v >= 0 && md->pause_at[n][v] < 0) {
			md->pause_at[n][v] = md->step + PAUSE;
		}
		break;
	case VMH_EFF_REVOKE_LOCAL:
	case VMH_EFF_ENSURE_NO_SOURCE:
	case VMH_EFF_ENSURE_NO_DEST:
		/* The guest keeps running until the destroy completes. */
		if (v >= 0 && md->phys[n][v] != OFF && md->kill_at[n][v] < 0)
			md->kill_at[n][v] = md->step + 1;
		break;
	case VMH_EFF_RESUME_LOCAL:
		if (v >= 0 && md->phys[n][v] == PAUSED && md->complete[n][v])
			resume(md, n, v, "RESUME_LOCAL");
		break;
	case VMH_EFF_RESUME_SOURCE:
		if (v >= 0 && md->phys[n][v] == PAUSED)
			resume(md, n, v, "RESUME_SOURCE");
		break;
	case VMH_EFF_CONFLICT:
		/* Same (ring, epoch), different content: the simulated CPG
		 * keeps extended virtual synchrony, so this is a bug. */
		md->st.conflicts++;
		mfail(md, "node %d: merge conflict on %s", node, e->vm);
		break;
	case VMH_EFF_SYNCED:
		md->st.rounds++;
		break;
	default:
		break;
	}
}

static void on_delivered(struct h_cluster *c, int node, uint32_t sender, const struct vmh_msg *m,
			 enum vmh_reg_reason why, uint64_t epoch_before, bool changed)
{
	struct model *md = c->ctx;
	int v = m->type <= VMH_MSG_CONFIG ? vm_index(m->vm) : -1;
	bool sync = m->type == VMH_MSG_SYNC || m->type == VMH_MSG_SYNC_START;

	(void)changed;
	TRACE("  %d: from %u type %d %s E=%llu node=%u dep=%llu cfg=0x%x -> %s\n", node, sender,
	      m->type, m->type <= VMH_MSG_CONFIG ? m->vm : "", (unsigned long long)m->expect, m->node,
	      (unsigned long long)m->departure, c->cfg, vmh_reg_reason_str(why));
	if (v >= 0 && node == (int)sender && why != VMH_REG_OK && md->outstanding[node - 1][v] > 0)
		md->outstanding[node - 1][v]--;
	if (why != VMH_REG_OK) {
		md->st.rejected++;
		return;
	}
	/* The oracle: the rules restated on the model's own truth. */
	if (!(c->cfg & h_bit((int)sender)))
		mfail(md, "node %d accepted type %d from %u, not in the configuration", node, m->type,
		      sender);
	if (!sync && m->type != VMH_MSG_QUORUM && popcount(c->cfg) * 2 <= NODES)
		mfail(md, "node %d accepted type %d in a minority configuration (0x%x)", node, m->type,
		      c->cfg);
	if (m->type <= VMH_MSG_CONFIG && m->expect != epoch_before)
		mfail(md, "node %d accepted type %d on %s with epoch %llu, expected %llu", node,
		      m->type, m->vm, (unsigned long long)epoch_before,
		      (unsigned long long)m->expect);
	if (v < 0)
		return;
	if (node == (int)sender && md->outstanding[node - 1][v] > 0)
		md->outstanding[node - 1][v]--;
	if (node == (int)sender && m->type == VMH_MSG_CLAIM && md->phys[node - 1][v] != RUN) {
		/* Our claim is decided: the agent boots it from its disk (a
		 * paused local copy is destroyed first, never resumed). */
		destroy_now(md, node - 1, v);
		md->phys[node - 1][v] = RUN;
		md->copy[node - 1][v] = ++md->next_copy;
	}
	if (node == (int)sender) {
		/* Counted once, at the sender. */
		switch (m->type) {
		case VMH_MSG_CLAIM:
			md->st.claims++;
			if (md->owner_view[node - 1][v] && md->owner_view[node - 1][v] != sender)
				md->st.takeovers++;
			break;
		case VMH_MSG_HANDOFF_BEGIN: md->st.begins++; break;
		case VMH_MSG_HANDOFF_COMMIT: md->st.commits++; break;
		case VMH_MSG_HANDOFF_ABORT: md->st.aborts++; break;
		case VMH_MSG_RELEASE: md->st.releases++; break;
		default: break;
		}
	}
}

/* ---- actions ---------------------------------------------------------- */

static bool view(struct h_cluster *c, int node, int v, struct vmh_vm_info *out)
{
	return vmh_reg_vm(c->reg[node - 1], vm_name(v), out) == 0;
}

static void send_vm_record(struct h_cluster *c, struct model *md, int s)
{
	struct vmh_msg m = { 0 };
	struct vmh_vm_info vi = { 0 };
	int v = (int)pick(NVMS), r = (int)pick(100);

	m.node = 0;
	bool known = view(c, s, v, &vi);

	if (md->outstanding[s - 1][v] || (c->down & h_bit(s)))
		return;			/* undecided earlier request; or no daemon */
	static const char *const xmls[] = { "<domain/>", "<domain><name>x</name></domain>",
					    "<domain><memory>1</memory></domain>" };

	snprintf(m.vm, sizeof(m.vm), "%s", vm_name(v));
	m.expect = known ? vi.epoch : 0;
	if (pick(100) < 12)
		m.expect = rnd() % (m.expect + 3);
	m.cookie = (uint32_t)rnd();
	/* Mostly what the node's own view suggests (so that handoffs and
	 * takeovers do happen), else any record. */
	if (pick(100) < 65) {
		if (!known || vi.state == VMH_VM_STOPPED || vi.owner != (uint32_t)s)
			r = vi.state == VMH_VM_MIGRATING && vi.dst == (uint32_t)s ? 60 : 0;
		else if (vi.state == VMH_VM_RUNNING)
			r = pick(4) == 0 ? 32 : pick(5) == 0 ? 86 : 42;
		else
			r = pick(3) == 0 ? 74 : 60;
		if (r == 42) {
			uint32_t members[H_MAX];
			int k = h_members(c, c->group[s - 1], members);

			m.node = members[pick((unsigned)k)];
		}
	}
	if (r < 32) {
		m.type = VMH_MSG_CLAIM;
		m.require_fencing = pick(3) == 0;
		if (pick(2)) {
			m.xml = xmls[pick(3)];
			m.xml_len = strlen(m.xml);
		}
	} else if (r < 42) {
		/* The agent stops the guest, then the daemon releases it. */
		m.type = VMH_MSG_RELEASE;
		destroy_now(md, s - 1, v);
	} else if (r < 58) {
		m.type = VMH_MSG_HANDOFF_BEGIN;
		if (!m.node)
			m.node = 1 + pick(NODES);
	} else if (r < 74) {
		/* COMMIT only with the complete state at the destination: sent
		 * by it, or by the source once libvirt said it is done. */
		if (!known || vi.state != VMH_VM_MIGRATING || !md->complete[vi.dst - 1][v])
			return;
		if ((uint32_t)s != vi.dst && (uint32_t)s != vi.owner)
			return;
		if ((uint32_t)s == vi.owner && md->phys[s - 1][v] == RUN)
			return;
		m.type = VMH_MSG_HANDOFF_COMMIT;
	} else if (r < 86) {
		m.type = VMH_MSG_HANDOFF_ABORT;
		if (known && vi.state == VMH_VM_MIGRATING && (uint32_t)s == vi.dst) {
			/* The destination gives up: its copy goes first. */
			destroy_now(md, s - 1, v);
		}
	} else if (r < 94) {
		m.type = VMH_MSG_CONFIG;
		m.xml = xmls[pick(3)];
		m.xml_len = strlen(m.xml);
	} else {
		/* Noise that must be refused or be harmless: records from
		 * nodes with nothing to do with the VM, random epochs. */
		m.type = pick(2) ? VMH_MSG_HANDOFF_ABORT : VMH_MSG_RELEASE;
		m.expect = rnd() % 6;
		if (m.type == VMH_MSG_RELEASE)
			destroy_now(md, s - 1, v);
	}
	m.config = vmh_reg_config(c->reg[s - 1]);
	TRACE(" %d sends type %d %s E=%llu node=%u\n", s, m.type, m.vm, (unsigned long long)m.expect,
	      m.node);
	h_send(c, s, &m);
	md->outstanding[s - 1][v]++;
	md->st.sent++;
}

static void send_other(struct h_cluster *c, int s)
{
	struct vmh_msg m = { .config = vmh_reg_config(c->reg[s - 1]) };

	if (c->down & h_bit(s))
		return;
	if (pick(2)) {
		m.type = VMH_MSG_ADDRESS;
		m.node = pick(4) ? (uint32_t)s : 1 + pick(NODES);
		snprintf(m.addr, sizeof(m.addr), "198.18.1.%u", 10 + pick(20));
	} else {
		m.type = VMH_MSG_QUORUM;	/* a repeat of what it reported */
		m.quorate = c->quorate[s - 1];
	}
	h_send(c, s, &m);
}

/* The restarted daemon of x loads its state file: through the real store,
 * in a temporary directory. */
static struct vmh_registry *restart_from_disk(struct model *md, int x)
{
	struct vmh_reg_image img;
	enum vmh_regstore_fault f;
	struct vmh_registry *reg = vmh_reg_new((uint32_t)x, NODES);

	if (!md->saved[x - 1])
		return reg;
	if (vmh_wire_decode_image(md->saved[x - 1], md->saved_len[x - 1], &img) < 0 ||
	    vmh_regstore_save(md->dir, &img) < 0) {
		mfail(md, "save for restart of %d", x);
		vmh_reg_image_free(&img);
		return reg;
	}
	vmh_reg_image_free(&img);
	if (vmh_regstore_load(md->dir, &img, &f) < 0 || vmh_reg_load(reg, &img) < 0)
		mfail(md, "load for restart of %d (%s)", x, vmh_regstore_fault_str(f));
	vmh_reg_image_free(&img);
	return reg;
}

/* x's host reboots (a crash, or fencing): its guests are gone, its daemon
 * starts from disk, its partition sees it leave and come back. */
static void reboot(struct h_cluster *c, struct model *md, int x)
{
	int g = c->group[x - 1];
	struct h_queue *q = &c->q[g];
	uint32_t members[H_MAX], rest[H_MAX];
	int k, nr = 0;
	size_t out = 0;

	TRACE(" reboot %d (host down and up)\n", x);
	memset(md->outstanding[x - 1], 0, sizeof(md->outstanding[x - 1]));

	for (int v = 0; v < NVMS; v++)
		destroy_now(md, x - 1, v);
	for (size_t i = 0; i < q->n; i++) {	/* what it had not sent is lost */
		struct h_qmsg *qm = &q->v[q->head + i];

		if (qm->sender == (uint32_t)x)
			free(qm->buf);
		else
			q->v[q->head + out++] = *qm;
	}
	q->n = out;
	vmh_reg_free(c->reg[x - 1]);
	c->reg[x - 1] = restart_from_disk(md, x);
	c->quorate[x - 1] = false;
	k = h_members(c, g, members);
	for (int j = 0; j < k; j++)
		if (members[j] != (uint32_t)x)
			rest[nr++] = members[j];
	c->down &= ~h_bit(x);		/* the daemon starts with the host */
	md->daemon_up_at[x - 1] = -1;
	k = h_members(c, g, members);
	h_confchg(c, rest, nr, NULL, 0, c->gmask[g] & ~h_bit(x), 0);
	h_confchg(c, members, k, NULL, 0, c->gmask[g], 0);
}

/* Only x's daemon stops (crash, upgrade): a CPG leave in order (PROCDOWN,
 * a clean departure) in the same totem ring; its guests keep running, its
 * corosync keeps counting for quorum. It comes back a few steps later
 * from its state file (daemon_up). */
static void daemon_down(struct h_cluster *c, struct model *md, int x)
{
	int g = c->group[x - 1];
	uint32_t rest[H_MAX], gone = (uint32_t)x;
	int nr;

	if (c->down & h_bit(x))
		return;
	TRACE(" daemon of %d stops\n", x);
	memset(md->outstanding[x - 1], 0, sizeof(md->outstanding[x - 1]));
	h_drop_unsent(c, x);
	c->down |= h_bit(x);
	md->daemon_down_since[x - 1] = md->step;
	for (int v = 0; v < NVMS; v++)
		md->pause_at[x - 1][v] = -1;	/* nobody left to pause them */
	nr = h_members(c, g, rest);
	h_confchg(c, rest, nr, &gone, 1, c->gmask[g], c->ring[x - 1]);
	vmh_reg_free(c->reg[x - 1]);
	c->reg[x - 1] = vmh_reg_new((uint32_t)x, NODES);	/* not running: empty */
	md->daemon_up_at[x - 1] = md->step + 1 + (int)pick(6);
	md->st.restarts++;
}

static void daemon_up(struct h_cluster *c, struct model *md, int x)
{
	int g = c->group[x - 1];
	uint32_t members[H_MAX];
	int k;

	TRACE(" daemon of %d starts\n", x);
	md->daemon_up_at[x - 1] = -1;
	c->down &= ~h_bit(x);
	vmh_reg_free(c->reg[x - 1]);
	c->reg[x - 1] = restart_from_disk(md, x);
	md->starting = x;
	if (vmh_reg_set_quorate(c->reg[x - 1], c->quorate[x - 1], &c->res) < 0)
		mfail(md, "set_quorate");
	h_react(c, x, &c->res);
	md->starting = 0;
	k = h_members(c, g, members);
	h_confchg(c, members, k, NULL, 0, c->gmask[g], c->ring[x - 1]);
}

/* A member sends a witness about a node outside its partition, telling
 * only the truth. */
static void witness(struct h_cluster *c, struct model *md, int s)
{
	int x = 1 + (int)pick(NODES);
	struct vmh_node_info ni;
	struct vmh_msg m = { .config = vmh_reg_config(c->reg[s - 1]) };

	if (x == s || c->group[x - 1] == c->group[s - 1] || (c->down & h_bit(s)))
		return;
	if (vmh_reg_node(c->reg[s - 1], (uint32_t)x, &ni) < 0 || ni.left == 0 || ni.member)
		return;
	m.node = (uint32_t)x;
	m.departure = ni.left;
	if (pick(3) == 0) {
		/* Fencing needs a quorate partition to ask it (pacemaker). */
		if (!c->quorate[s - 1])
			return;
		reboot(c, md, x);
		md->st.fencings++;
		m.type = VMH_MSG_NODE_FENCED;
		m.fence_time = (uint64_t)md->step;
	} else {
		/* Out of quorum for longer than the pause and the watchdog:
		 * its daemon paused everything, or its watchdog reset it. */
		if (md->nonq_since[x - 1] < 0 ||
		    md->step - md->nonq_since[x - 1] < PAUSE + WATCHDOG + 1 || !c->quorate[s - 1])
			return;
		m.type = VMH_MSG_NODE_EXPIRED;
		m.waited_ms = (uint32_t)(md->step - md->nonq_since[x - 1]);
	}
	md->st.witnesses++;
	TRACE(" %d sends witness type %d about %d (departure %llu)\n", s, m.type, x,
	      (unsigned long long)m.departure);
	h_send(c, s, &m);
}

/* The libvirt migration reaches its switchover: the source pauses, the
 * destination holds the complete, paused state. Only if both helpers saw
 * the same HANDOFF_BEGIN (the destination accepts nothing else). */
static void switchover(struct h_cluster *c, struct model *md)
{
	int v = (int)pick(NVMS), s = 1 + (int)pick(NODES);
	struct vmh_vm_info a, b;

	if (!view(c, s, v, &a) || a.state != VMH_VM_MIGRATING || a.owner != (uint32_t)s)
		return;
	if (!view(c, (int)a.dst, v, &b) || b.state != VMH_VM_MIGRATING || b.epoch != a.epoch ||
	    b.owner != a.owner)
		return;
	if (md->phys[s - 1][v] == OFF)
		return;
	md->phys[s - 1][v] = PAUSED;
	destroy_now(md, (int)a.dst - 1, v);
	md->phys[a.dst - 1][v] = PAUSED;
	md->complete[a.dst - 1][v] = true;
	md->copy[a.dst - 1][v] = md->copy[s - 1][v];	/* the same guest, moved */
	md->st.switchovers++;
	TRACE(" switchover %s %d -> %u\n", vm_name(v), s, a.dst);
}

/* Which tail of the old ring each side delivers. Biased towards the
 * dangerous split: the side that becomes a minority saw everything (its
 * members may have started a guest on it), the majority nothing. */
static size_t random_prefix(struct h_cluster *c, uint32_t old_mask, uint32_t new_mask, size_t len)
{
	bool minority = popcount(new_mask) * 2 <= NODES;

	(void)c;
	(void)old_mask;
	if (len == 0)
		return 0;
	if (pick(2))
		return minority ? len : 0;
	switch (pick(3)) {
	case 0: return 0;
	case 1: return len;
	default: return pick((unsigned)len + 1);
	}
}

static void repartition(struct h_cluster *c, struct model *md)
{
	int group_of[H_MAX];
	int g1 = c->group[pick(NODES)], g2 = c->group[pick(NODES)];
	int kind = (int)pick(10);

	for (int i = 0; i < NODES; i++)
		group_of[i] = c->group[i];
	if (kind < 4 && g1 != g2) {
		for (int i = 0; i < NODES; i++)	/* merge two */
			if (group_of[i] == g2)
				group_of[i] = g1;
	} else if (kind < 8) {
		int free_g = -1;

		for (int g = 0; g < H_MAX && free_g < 0; g++)
			if (!c->gmask[g])
				free_g = g;
		for (int i = 0; i < NODES; i++)	/* split one */
			if (group_of[i] == g1 && pick(2))
				group_of[i] = free_g;
	} else {
		for (int i = 0; i < NODES; i++)	/* anything */
			group_of[i] = (int)pick(3);
	}
	md->st.repartitions++;
	TRACE(" repartition:");
	for (int i = 0; i < NODES; i++)
		TRACE(" %d->g%d", i + 1, group_of[i]);
	TRACE("\n");
	h_partition(c, group_of, 0);
}

/* ---- checks ----------------------------------------------------------- */

static void check(struct h_cluster *c, struct model *md)
{
	if (c->fail[0])
		mfail(md, "harness: %s", c->fail);
	for (int v = 0; v < NVMS; v++) {
		int may = 0, runs = 0;

		for (int n = 1; n <= NODES; n++) {
			uint64_t e = h_epoch(c->reg[n - 1], vm_name(v));

			if (vmh_reg_may_run(c->reg[n - 1], vm_name(v), (uint32_t)n))
				may++;
			if (md->phys[n - 1][v] == RUN)
				runs++;
			if (c->down & h_bit(n))
				continue;	/* its state is in its file */
			if (e < md->epoch_seen[n - 1][v])
				mfail(md, "node %d: %s epoch went back from %llu to %llu", n, vm_name(v),
				      (unsigned long long)md->epoch_seen[n - 1][v],
				      (unsigned long long)e);
			md->epoch_seen[n - 1][v] = e;
		}
		if (may > 1)
			mfail(md, "%s: %d nodes may run it", vm_name(v), may);
		if (runs > 1)
			mfail(md, "%s: %d nodes run it", vm_name(v), runs);
		for (int n = 0; n < NODES && runs == 1; n++)	/* the runner writes the disk */
			if (md->phys[n][v] == RUN)
				md->disk[v] = md->copy[n][v];
	}
	for (int g = 0; g < H_MAX; g++) {
		int first = 0;

		for (int n = 1; n <= NODES; n++) {
			if (!(c->gmask[g] & ~c->down & h_bit(n)))
				continue;
			if (!first) {
				first = n;
				continue;
			}
			if (vmh_reg_syncing(c->reg[n - 1]) != vmh_reg_syncing(c->reg[first - 1]))
				mfail(md, "group 0x%x: node %d and %d disagree on syncing", c->gmask[g],
				      first, n);
			else if (!vmh_reg_syncing(c->reg[n - 1]) &&
				 !vmh_reg_equal(c->reg[first - 1], c->reg[n - 1]))
				mfail(md, "group 0x%x: node %d and %d differ", c->gmask[g], first, n);
		}
	}
}

/* Time passes: due pauses happen (unless quorum is back), non-quorate
 * clocks run, the daemons save their state. */
static void tick(struct h_cluster *c, struct model *md)
{
	for (int n = 0; n < NODES; n++) {
		for (int v = 0; v < NVMS; v++) {
			uint64_t e = h_epoch(c->reg[n], vm_name(v));

			if (md->kill_at[n][v] >= 0 && md->step >= md->kill_at[n][v])
				destroy_now(md, n, v);
			if (md->pause_at[n][v] >= 0 && md->step >= md->pause_at[n][v]) {
				if (!c->quorate[n] && md->phys[n][v] == RUN) {
					md->phys[n][v] = PAUSED;
					md->qpaused[n][v] = true;
					md->paused_epoch[n][v] = e;
				}
				md->pause_at[n][v] = -1;
			}
			/* Quorum is back and nothing was decided since the pause:
			 * the copy is still the one that may run. */
			if (md->qpaused[n][v] && md->phys[n][v] == PAUSED && e == md->paused_epoch[n][v] &&
			    vmh_reg_may_run(c->reg[n], vm_name(v), (uint32_t)n + 1))
				resume(md, n, v, "quorum back");
		}
	}
}

static void after_step(struct h_cluster *c, struct model *md)
{
	for (int n = 0; n < NODES; n++) {
		if (!c->quorate[n] && md->nonq_since[n] < 0)
			md->nonq_since[n] = md->step;
		else if (c->quorate[n])
			md->nonq_since[n] = -1;
		if (c->down & h_bit(n + 1))
			continue;	/* no daemon: its file stays as it left it */
		free(md->saved[n]);
		md->saved[n] = NULL;
		if (vmh_wire_encode_image(vmh_reg_image(c->reg[n]), &md->saved[n], &md->saved_len[n]) < 0)
			mfail(md, "node %d: state does not encode", n + 1);
		for (int v = 0; v < NVMS; v++) {
			struct vmh_vm_info vi;

			md->owner_view[n][v] = view(c, n + 1, v, &vi) ? vi.owner : 0;
		}
	}
}

static void run_one(uint64_t seed, int steps, struct model *total)
{
	struct h_cluster c;
	struct model *md = calloc(1, sizeof(*md));
	char tmpl[] = "/tmp/vmh-prop-XXXXXX";

	assert_non_null(md);
	md->seed = seed;
	md->dir = mkdtemp(tmpl);
	assert_non_null(md->dir);
	for (int n = 0; n < NODES; n++) {
		md->nonq_since[n] = -1;
		md->daemon_up_at[n] = -1;
		md->daemon_down_since[n] = -1;
		for (int v = 0; v < NVMS; v++)
			md->pause_at[n][v] = md->kill_at[n][v] = -1;
	}
	rng = seed;
	h_init(&c, NODES);
	c.ctx = md;
	c.on_effect = on_effect;
	c.on_delivered = on_delivered;
	c.prefix = random_prefix;
	c.check_unchanged = true;
	{
		int all[H_MAX] = { 0 };

		h_partition(&c, all, 0);
	}
	for (md->step = 0; md->step < steps && !md->fail[0]; md->step++) {
		unsigned r = pick(100);

		if (trace) {
			fprintf(stderr, "step %d (r=%u) groups:", md->step, r);
			for (int g = 0; g < H_MAX; g++)
				if (c.gmask[g])
					fprintf(stderr, " 0x%x%s(q%zu)", c.gmask[g],
						popcount(c.gmask[g]) * 2 > NODES ? "*" : "", c.q[g].n);
			fprintf(stderr, " phys:");
			for (int v = 0; v < NVMS; v++) {
				fprintf(stderr, " %s[", vm_name(v));
				for (int n = 0; n < NODES; n++)
					fprintf(stderr, "%c", ".RP"[md->phys[n][v]]);
				fprintf(stderr, "]");
			}
			fprintf(stderr, "\n");
		}

		tick(&c, md);
		for (int n = 1; n <= NODES; n++) {
			bool guests = false;

			for (int v = 0; v < NVMS; v++)
				guests = guests || md->phys[n - 1][v] == RUN;
			if ((c.down & h_bit(n)) && guests &&
			    md->step >= md->daemon_down_since[n - 1] + WATCHDOG) {
				TRACE(" watchdog resets %d\n", n);
				reboot(&c, md, n);
				md->st.watchdog++;
			} else if (md->daemon_up_at[n - 1] >= 0 && md->step >= md->daemon_up_at[n - 1]) {
				daemon_up(&c, md, n);
			}
		}
		if (r < 50) {
			/* CPG delivers in bursts: fast next to a pause of seconds. */
			int g = c.group[pick(NODES)], burst = 1 + (int)pick(6);

			for (int b = 0; b < burst; b++)
				if (!h_step(&c, g))
					for (int k = 0; k < H_MAX && !h_step(&c, k); k++)
						;
		} else if (r < 78) {
			send_vm_record(&c, md, 1 + (int)pick(NODES));
		} else if (r < 80) {
			send_other(&c, 1 + (int)pick(NODES));
		} else if (r < 88) {
			witness(&c, md, 1 + (int)pick(NODES));
		} else if (r < 95) {
			switchover(&c, md);
		} else if (r < 97) {
			repartition(&c, md);
		} else if (r < 98) {
			daemon_down(&c, md, 1 + (int)pick(NODES));
		} else if (r < 99 && pick(3) == 0) {
			reboot(&c, md, 1 + (int)pick(NODES));
			md->st.crashes++;
		}		/* else: time passes */
		after_step(&c, md);
		check(&c, md);
	}
	/* Add up the statistics, clean up, and only then report. */
	{
		unsigned *a = (unsigned *)&total->st, *b = (unsigned *)&md->st;

		for (size_t i = 0; i < sizeof(md->st) / sizeof(unsigned); i++)
			a[i] += b[i];
	}
	for (int n = 0; n < NODES; n++)
		free(md->saved[n]);
	{
		char p[64];

		snprintf(p, sizeof(p), "%s/%s", md->dir, VMH_REGSTORE_FILE);
		unlink(p);
		rmdir(md->dir);
	}
	h_destroy(&c);
	if (md->fail[0]) {
		char why[sizeof(md->fail)];
		int step = md->step - 1;

		memcpy(why, md->fail, sizeof(why));
		free(md);
		fail_msg("seed 0x%llx step %d: %s", (unsigned long long)seed, step, why);
	}
	free(md);
}

/* Runs of 2500 steps in `make check`: about 3 s here; fewer under the
 * sanitizers, which are several times slower. */
#ifdef __SANITIZE_ADDRESS__
#define DEFAULT_RUNS 10
#else
#define DEFAULT_RUNS 32
#endif

static unsigned long env_num(const char *name, unsigned long dflt)
{
	const char *s = getenv(name);

	return s && *s ? strtoul(s, NULL, 0) : dflt;
}

static void test_property(void **state)
{
	uint64_t base = env_num("VMH_PROP_SEED", 0x7e57u);
	int runs = (int)env_num("VMH_PROP_RUNS", DEFAULT_RUNS);
	int steps = (int)env_num("VMH_PROP_STEPS", 2500);
	struct model *total = calloc(1, sizeof(*total));

	(void)state;
	trace = env_num("VMH_PROP_TRACE", 0) != 0;
	print_message("registry property: %d runs x %d steps, seeds 0x%llx + run*0x9e3779b9 "
		      "(replay: VMH_PROP_SEED=<seed> VMH_PROP_RUNS=1)\n", runs, steps,
		      (unsigned long long)base);
	for (int i = 0; i < runs; i++)
		run_one(base + (uint64_t)i * 0x9e3779b9u, steps, total);
	print_message("sent %u, rejected deliveries %u; accepted: %u claims (%u takeovers), "
		      "%u begins, %u commits, %u aborts, %u releases; %u witnesses, %u fencings, "
		      "%u crashes, %u daemon restarts (%u watchdog resets), %u switchovers, "
		      "%u repartitions, %u sync rounds, %u conflicts\n",
		      total->st.sent, total->st.rejected, total->st.claims, total->st.takeovers,
		      total->st.begins, total->st.commits, total->st.aborts, total->st.releases,
		      total->st.witnesses, total->st.fencings, total->st.crashes, total->st.restarts,
		      total->st.watchdog, total->st.switchovers, total->st.repartitions, total->st.rounds,
		      total->st.conflicts);
	/* A property test that never reaches the interesting states proves
	 * nothing: insist that it does. */
	if (runs * steps >= 20000) {
		assert_true(total->st.takeovers > 0);
		assert_true(total->st.commits > 0);
		assert_true(total->st.aborts > 0);
		assert_true(total->st.fencings > 0);
		assert_true(total->st.crashes > 0);
	}
	free(total);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_property),
	};

	return cmocka_run_group_tests_name("registry_prop", tests, NULL, NULL);
}
