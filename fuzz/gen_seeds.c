/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gen-seeds OUTDIR: writes the seed corpus of the fuzz targets,
 * OUTDIR/<target>/<name>, from valid inputs made by the real encoders:
 *
 *   wire      every CPG message type (HANDOFF_STATS included), and the
 *             messages (SYNC images included) and state files of a small
 *             simulated cluster that claims, hands off and takes over a VM;
 *   ipc       every request type and a reply to each (STATUS with node
 *             entries, progress and an image; HISTORY with entries);
 *   registry  event scripts for fuzz_registry.c (and random ones);
 *   params    resource parameter sets (valid and not);
 *   domxml    domain XML files.
 *
 * Run by `make fuzz-seeds`; the output is committed under fuzz/corpus/.
 * Deterministic: the same tree gives the same files.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "test_registry_harness.h"
#include "test_wire_sample.h"
#include "vmh_ipc.h"

static const char *outdir;
static unsigned n_written;

static void mkdirs(const char *target)
{
	char p[512];

	snprintf(p, sizeof(p), "%s", outdir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/%s", outdir, target);
	mkdir(p, 0755);
}

static void put(const char *target, const char *name, const void *buf, size_t len)
{
	char p[512];
	FILE *f;

	mkdirs(target);
	snprintf(p, sizeof(p), "%s/%s/%s", outdir, target, name);
	f = fopen(p, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		perror(p);
		exit(1);
	}
	n_written++;
}

static void put_str(const char *target, const char *name, const char *s)
{
	put(target, name, s, strlen(s));
}

/* ---- wire ---------------------------------------------------------------- */

static void put_msg(const char *name, const struct vmh_msg *m)
{
	uint8_t *buf;
	size_t len;

	if (vmh_wire_encode(m, &buf, &len) < 0) {
		fprintf(stderr, "gen-seeds: %s does not encode\n", name);
		exit(1);
	}
	put("wire", name, buf, len);
	free(buf);
}

static void wire_samples(void)
{
	static const char *const names[] = { NULL, "claim", "release", "begin", "commit", "abort",
					     "config", "fenced", "expired", "address", "quorum",
					     "sync-start" };

	for (int t = VMH_MSG_CLAIM; t < VMH_MSG_SYNC; t++) {
		struct vmh_msg m = wire_sample((enum vmh_msg_type)t);

		put_msg(names[t], &m);
	}
}

/* The destination's figures of a committed handoff, and one without
 * libvirt's (only its resume delay). */
static const struct vmh_hist_entry hist_samples[] = {
	{ .vm = "web-01", .outcome = VMH_HIST_COMMITTED, .src = 1, .dst = 2, .owner_after = 2,
	  .begin_epoch = 6, .end_epoch = 7, .start_ms = 1700000000123ull, .duration_ms = 620,
	  .flags = VMH_HIST_F_FIGURES, .bytes = 9334784, .job_ms = 992, .downtime_ms = 17,
	  .resume_us = 1234 },
	{ .vm = "web-01", .outcome = VMH_HIST_TAKEN_OVER, .src = 2, .dst = 3, .owner_after = 1,
	  .begin_epoch = 8, .end_epoch = 10, .start_ms = 1700000100000ull, .duration_ms = 25000,
	  .flags = VMH_HIST_F_LATE | VMH_HIST_F_RESUME, .resume_us = 99 },
};

static void wire_stats(void)
{
	for (size_t i = 0; i < sizeof(hist_samples) / sizeof(hist_samples[0]); i++) {
		char name[32];
		uint8_t *buf;
		size_t len;

		if (vmh_wire_encode_stats(&hist_samples[i], &buf, &len) < 0) {
			fprintf(stderr, "gen-seeds: handoff stats %zu do not encode\n", i);
			exit(1);
		}
		snprintf(name, sizeof(name), "handoff-stats-%zu", i);
		put("wire", name, buf, len);
		free(buf);
	}
}

/* Every distinct message a simulated cluster delivers, as the wire has it. */
static unsigned cluster_msgs;

static void on_delivered(struct h_cluster *c, int node, uint32_t sender, const struct vmh_msg *m,
			 enum vmh_reg_reason why, uint64_t epoch_before, bool changed)
{
	char name[64];

	(void)c;
	(void)sender;
	(void)why;
	(void)epoch_before;
	(void)changed;
	if (node != 1)
		return;		/* every member delivers the same bytes */
	snprintf(name, sizeof(name), "cluster-%03u-type%d", cluster_msgs++, m->type);
	put_msg(name, m);
}

static void snapshot(struct h_cluster *c, const char *name)
{
	for (int i = 0; i < c->n; i++) {
		uint8_t *buf;
		size_t len;
		char n[64];

		if (!h_encode_state(c->reg[i], &buf, &len))
			exit(1);
		snprintf(n, sizeof(n), "snapshot-%s-node%d", name, i + 1);
		put("wire", n, buf, len);
		free(buf);
	}
}

static void cluster_send(struct h_cluster *c, int node, enum vmh_msg_type t, const char *vm,
			 uint32_t dst)
{
	struct vmh_msg m = { .type = t, .config = vmh_reg_config(c->reg[node - 1]) };

	snprintf(m.vm, sizeof(m.vm), "%s", vm);
	m.expect = h_epoch(c->reg[node - 1], vm);
	m.node = dst;
	if (t == VMH_MSG_CLAIM || t == VMH_MSG_CONFIG) {
		m.xml = "<domain><name>x</name></domain>";
		m.xml_len = strlen(m.xml);
	}
	h_send(c, node, &m);
	h_run_all(c);
}

static void wire_cluster(void)
{
	struct h_cluster c;
	int all[H_MAX] = { 0 };

	h_init(&c, 3);
	c.on_delivered = on_delivered;
	h_partition(&c, all, 0);
	h_run_all(&c);
	cluster_send(&c, 1, VMH_MSG_CLAIM, "vm0", 0);
	cluster_send(&c, 2, VMH_MSG_CLAIM, "vm1", 0);
	cluster_send(&c, 1, VMH_MSG_HANDOFF_BEGIN, "vm0", 2);
	cluster_send(&c, 2, VMH_MSG_HANDOFF_COMMIT, "vm0", 0);
	cluster_send(&c, 2, VMH_MSG_CONFIG, "vm0", 0);
	{
		struct vmh_msg m = { .type = VMH_MSG_ADDRESS, .node = 3 };

		snprintf(m.addr, sizeof(m.addr), "198.18.1.13");
		h_send(&c, 3, &m);
		h_run_all(&c);
	}
	snapshot(&c, "steady");
	h_split(&c, 0x3, 0x4, 0, 0);	/* node 3 is lost */
	h_run_all(&c);
	{
		struct vmh_node_info ni;
		struct vmh_msg m = { .type = VMH_MSG_NODE_FENCED, .node = 3,
				     .config = vmh_reg_config(c.reg[0]), .fence_time = 1700000000 };

		if (vmh_reg_node(c.reg[0], 3, &ni) == 0 && ni.left) {
			m.departure = ni.left;
			h_send(&c, 1, &m);
			h_run_all(&c);
		}
	}
	cluster_send(&c, 1, VMH_MSG_HANDOFF_BEGIN, "vm1", 1);
	cluster_send(&c, 2, VMH_MSG_HANDOFF_ABORT, "vm0", 0);
	cluster_send(&c, 2, VMH_MSG_RELEASE, "vm1", 0);
	snapshot(&c, "split");
	h_split(&c, 0x7, 0, 0, 0);	/* merged again */
	h_run_all(&c);
	snapshot(&c, "merged");
	h_destroy(&c);
}

/* ---- ipc ----------------------------------------------------------------- */

static void put_req(const char *name, const struct vmh_ipc_req *req)
{
	uint8_t *buf;
	size_t len;

	if (vmh_ipc_encode_req(req, &buf, &len) < 0) {
		fprintf(stderr, "gen-seeds: request %s does not encode\n", name);
		exit(1);
	}
	put("ipc", name, buf, len);
	free(buf);
}

static void put_reply(const char *name, const struct vmh_ipc_reply *rep)
{
	uint8_t *buf;
	size_t len;

	if (vmh_ipc_encode_reply(rep, &buf, &len) < 0) {
		fprintf(stderr, "gen-seeds: reply %s does not encode\n", name);
		exit(1);
	}
	put("ipc", name, buf, len);
	free(buf);
}

static void ipc_samples(void)
{
	static const char xml[] = "<domain type='kvm'><name>web-01</name></domain>";

	for (unsigned t = VMH_IPC_STATUS; t <= VMH_IPC_TYPE_MAX; t++) {
		struct vmh_ipc_req req = { .type = (enum vmh_ipc_type)t, .budget_ms = 5000 };
		struct vmh_ipc_reply rep = { .type = (enum vmh_ipc_type)(t | VMH_IPC_REPLY) };
		char name[64];
		uint8_t *buf;
		size_t len;

		/* The fields each type takes, found by trying: the largest
		 * set of vm, node, xml that the encoder accepts. */
		for (int set = 7; set >= 0; set--) {
			snprintf(req.vm, sizeof(req.vm), "%s", set & 1 ? "web-01" : "");
			snprintf(req.node, sizeof(req.node), "%s", set & 2 ? "node-2" : "");
			req.xml = set & 4 ? xml : NULL;
			req.xml_len = set & 4 ? sizeof(xml) - 1 : 0;
			if (vmh_ipc_encode_req(&req, &buf, &len) == 0) {
				free(buf);
				break;
			}
		}
		if (t == VMH_IPC_CLAIM) {
			req.has_uuid = true;
			req.uuid[0] = 0xab;
			req.require_fencing = true;
		}
		snprintf(name, sizeof(name), "req-%u", t);
		put_req(name, &req);

		/* An error reply, and a full one. */
		rep.status = VMH_IPC_E_REJECTED;
		rep.reg_reason = VMH_REG_R_STALE_EPOCH;
		snprintf(rep.message, sizeof(rep.message), "stale epoch");
		snprintf(name, sizeof(name), "reply-%u-error", t);
		put_reply(name, &rep);
		memset(&rep, 0, sizeof(rep));
		rep.type = (enum vmh_ipc_type)(t | VMH_IPC_REPLY);
		if (t == VMH_IPC_STATUS) {
			struct vmh_ipc_node nodes[2] = { { 1, true, "node-1" }, { 2, false, "node-2" } };
			struct vmh_ipc_progress prog = { .vm = "web-01", .iteration = 3,
							 .elapsed_ms = 1200, .data_total = 1 << 30,
							 .data_processed = 1 << 29,
							 .data_remaining = 1 << 29, .mem_bps = 1 << 27,
							 .dirty_rate = 1000, .downtime_ms = 30 };
			struct h_cluster c;
			int all[H_MAX] = { 0 };

			h_init(&c, 2);
			h_partition(&c, all, 0);
			h_run_all(&c);
			cluster_send(&c, 1, VMH_MSG_CLAIM, "web-01", 0);
			if (!h_encode_state(c.reg[0], &rep.image, &rep.image_len))
				exit(1);
			h_destroy(&c);
			rep.self = 1;
			rep.flags = VMH_IPC_F_ALL;
			rep.ring = 12;
			rep.n_nodes = 2;
			rep.nodes = nodes;
			rep.n_progress = 1;
			rep.progress = &prog;
			snprintf(name, sizeof(name), "reply-%u-ok", t);
			put_reply(name, &rep);
			free(rep.image);
			continue;
		}
		if (t == VMH_IPC_HISTORY) {
			struct vmh_ipc_node nodes[2] = { { 1, true, "node-1" }, { 2, false, "node-2" } };

			rep.self = 1;
			rep.n_nodes = 2;
			rep.nodes = nodes;
			rep.n_history = sizeof(hist_samples) / sizeof(hist_samples[0]);
			rep.history = (struct vmh_hist_entry *)hist_samples;
			rep.has_vm_state = true;
			rep.vm_state = VMH_VM_RUNNING;
			rep.epoch = 10;
			rep.owner = 1;
			snprintf(name, sizeof(name), "reply-%u-ok", t);
			put_reply(name, &rep);
			continue;
		}
		rep.has_vm_state = true;
		rep.vm_state = VMH_VM_MIGRATING;
		rep.epoch = 7;
		rep.owner = 1;
		rep.dst = 2;
		rep.may_run = true;
		rep.nodeid = 2;
		snprintf(rep.addr, sizeof(rep.addr), "198.18.1.12");
		if (vmh_ipc_encode_reply(&rep, &buf, &len) < 0) {
			rep.nodeid = 0;
			rep.addr[0] = '\0';
		} else {
			free(buf);
		}
		snprintf(name, sizeof(name), "reply-%u-ok", t);
		put_reply(name, &rep);
	}
}

/* ---- registry event scripts (see fuzz_registry.c) ------------------------ */

static uint64_t rng = 0x5eed;

static unsigned rnd8(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (unsigned)((rng * 0x2545F4914F6CDD1DULL) >> 56);
}

static void registry_scripts(void)
{
	/* Event bytes: 0-4 deliver, 5-7 VM record, 8 address/quorum, 9
	 * witness, 10 quorum flap, 11 partition, 12 daemon stop, 13 daemon
	 * start, 14 crash, 15 run to quiescence. A VM record takes sender,
	 * vm, flags, xml, type (0 CLAIM .. 5 CONFIG), node (send_vm_record()
	 * in fuzz_registry.c); a witness sender, node, flags (1: fenced); a
	 * partition the clean-leave mask, then each node's group. */
	static const uint8_t handoff[] = {
		0,				/* 3 nodes */
		5, 0, 0, 0, 1, 0, 0, 15,	/* node 1 claims vm0 */
		5, 1, 1, 0, 1, 0, 0, 15,	/* node 2 claims vm1 */
		5, 0, 0, 0, 0, 2, 2, 15,	/* node 1: vm0 to node 2 */
		5, 1, 0, 0, 0, 3, 0, 15,	/* node 2 commits */
		5, 1, 0, 0, 2, 5, 0, 15,	/* node 2: new config */
		5, 1, 1, 0, 0, 1, 0, 15,	/* node 2 releases vm1 */
	};
	static const uint8_t split[] = {
		2,				/* 5 nodes */
		5, 0, 0, 0, 1, 0, 0, 15,	/* node 1 claims vm0 */
		11, 0, 0, 0, 0, 1, 1, 15,	/* {1,2,3} | {4,5} */
		9, 3, 0, 1, 15,			/* node 4 witnesses node 1 fenced */
		5, 3, 0, 0, 1, 0, 0, 15,	/* node 4 claims vm0 */
		11, 0, 0, 0, 0, 0, 0, 15,	/* merged */
		14, 1, 15, 12, 2, 13, 2, 15,	/* crash of 2; daemon of 3 restarts */
	};
	/* Flags 64: the type the sender's own view suggests. */
	static const uint8_t guided[] = {
		1,				/* 4 nodes */
		5, 0, 0, 64, 1, 0, 0, 15,	/* node 1 claims vm0 */
		5, 0, 0, 64, 0, 2, 0, 15,	/* node 1 hands it off */
		5, 0, 0, 64, 0, 0, 0, 15,	/* node 1 aborts */
		5, 0, 0, 64, 0, 6, 0, 15,	/* node 1 hands it off again */
		5, 1, 0, 64, 0, 1, 0, 15,	/* node 2 commits */
		5, 2, 1, 64, 1, 0, 0, 15,	/* node 3 claims vm1 */
		11, 0, 0, 0, 1, 1, 15,		/* {1,2} | {3,4} */
		9, 0, 2, 1, 9, 0, 3, 1, 15,	/* node 1: 3 and 4 fenced */
		5, 0, 1, 64, 1, 0, 0, 15,	/* node 1 takes vm1 over */
		11, 0, 0, 0, 0, 0, 15,		/* merged */
	};
	static const uint8_t flaps[] = {
		1, 5, 0, 2, 0, 1, 0, 0, 15, 10, 0, 0, 10, 0, 1, 8, 1, 2, 15, 8, 0, 0, 0, 15,
		12, 0, 15, 13, 0, 15, 5, 3, 0, 0, 1, 0, 0, 15,
	};

	put("registry", "handoff", handoff, sizeof(handoff));
	put("registry", "split-takeover", split, sizeof(split));
	put("registry", "flaps", flaps, sizeof(flaps));
	put("registry", "guided", guided, sizeof(guided));
	for (int i = 0; i < 12; i++) {
		uint8_t buf[256];
		char name[32];

		for (size_t j = 0; j < sizeof(buf); j++)
			buf[j] = (uint8_t)rnd8();
		snprintf(name, sizeof(name), "random-%02d", i);
		put("registry", name, buf, sizeof(buf));
	}
}

/* ---- params ---------------------------------------------------------------- */

static void params_samples(void)
{
	put_str("params", "minimal", "config=/etc/libvirt/qemu/web-01.xml\n");
	put_str("params", "full",
		"config=/etc/libvirt/qemu/web-01.xml\n"
		"hypervisor=qemu:///system\n"
		"force_stop=false\n"
		"migration_transport=tcp\n"
		"migration_user=root\n"
		"migration_downtime=300\n"
		"migration_speed=1000\n"
		"migration_network_suffix=-mig\n"
		"migrateuri=tcp://%n-mig:49152\n"
		"migrate_options=--unsafe --compressed --parallel-connections=4 --migrateuri=tcp://x:1\n"
		"monitor_scripts=/usr/local/bin/check-web /usr/local/bin/check-db\n"
		"autoset_utilization_cpu=true\n"
		"autoset_utilization_host_memory=yes\n"
		"unset_utilization_hv_memory=on\n"
		"migrateport=49152\n"
		"remoteuri=qemu+tcp://%n/system\n"
		"save_config_on_stop=0\n"
		"snapshot=/var/lib/snap\n"
		"shutdown_mode=acpi,agent\n"
		"start_resources=false\n"
		"migration_network=198.18.1.0/24\n"
		"migration_parallel=4\n"
		"migration_auto_converge=true\n"
		"migration_compression=xbzrle,zstd\n"
		"migration_postcopy=false\n"
		"migration_tls=false\n"
		"migration_abort_after=60\n"
		"registry=true\n"
		"registry_socket=/run/vmhandoff/vmhandoffd.sock\n"
		"require_fencing=true\n"
		"trace_ra=0\n"
		"trace_file=/tmp/trace\n"
		"@CRM_meta_timeout=20000\n"
		"@OCF_RESKEY_CRM_meta_interval=0\n"
		"@OCF_RESKEY_crm_feature_set=3.17.4\n"
		"@PATH=/usr/bin\n");
	put_str("params", "bad",
		"config=relative.xml\n"
		"force_stop=maybe\n"
		"migration_downtime=-1\n"
		"migrateport=70000\n"
		"shutdown_mode=acpi,bogus\n"
		"migrate_options=--postcopy --nope\n"
		"migration_network=fd00::/129\n"
		"migration_compression=lz4\n"
		"stateless=true\n"
		"backingfile=/x\n"
		"copyindirs=/y\n"
		"sync_config_on_stop=1\n"
		"registry_socket=relative\n"
		"unknown_param=1\n"
		"@OCF_RESKEY_noequals\n");
	put_str("params", "ipv6", "config=/c.xml\nmigration_network=fd00:1::/64\nmigration_user=mig-user\n"
		"registry=false\nmigration_postcopy=true\n");
}

/* ---- domxml ------------------------------------------------------------------ */

static void domxml_samples(void)
{
	put_str("domxml", "full",
		"<domain type='kvm'>\n"
		"  <name>web-01</name>\n"
		"  <uuid>6f1c4f0e-7d55-4b2f-9a39-6a1e0e3c1b2a</uuid>\n"
		"  <memory unit='GiB'>4</memory>\n"
		"  <vcpu placement='static'>2</vcpu>\n"
		"  <os><type arch='x86_64' machine='q35'>hvm</type></os>\n"
		"  <devices>\n"
		"    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n"
		"    <disk type='file' device='disk'><source file='/var/lib/img/web-01.qcow2'/>"
		"<target dev='vda' bus='virtio'/></disk>\n"
		"  </devices>\n"
		"</domain>\n");
	put_str("domxml", "minimal", "<domain><name>v</name></domain>");
	put_str("domxml", "units",
		"<domain><name>m</name><memory unit='b'>1073741824</memory><vcpu>64</vcpu></domain>");
	put_str("domxml", "qemu-ns",
		"<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>"
		"<name>canary</name><memory unit='MiB'>256</memory>"
		"<qemu:commandline><qemu:arg value='-device'/></qemu:commandline></domain>");
	put_str("domxml", "entity",
		"<!DOCTYPE domain [<!ENTITY n \"web\">]><domain><name>&n;-01</name></domain>");
	put_str("domxml", "bad-name", "<domain><name>a/b</name></domain>");
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen-seeds OUTDIR\n");
		return 2;
	}
	outdir = argv[1];
	wire_samples();
	wire_stats();
	wire_cluster();
	ipc_samples();
	registry_scripts();
	params_samples();
	domxml_samples();
	printf("gen-seeds: %u files under %s\n", n_written, outdir);
	return 0;
}
