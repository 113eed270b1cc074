/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmhandoffd: one daemon per node, one thread, one event loop (libvirt's
 * default event implementation, which also carries our own descriptors
 * and timers, so libvirt's keepalive and lifecycle events need no thread
 * of their own).
 *
 *   hd_config.c   configuration file and command-line flags
 *   hd_cluster.c  corosync: CPG (the registry's agreed order), libquorum,
 *                 cmap (node ids and names); reconnects when corosync
 *                 returns
 *   hd_registry.c feeds the registry state machine (lib/vmh_registry.h),
 *                 saves it, carries out its effects, tracks the requests
 *                 this node sent until their delivery
 *   hd_ipc.c      the unix socket of the agent and the CLI (lib/vmh_ipc.h)
 *   hd_virt.c     libvirt: lifecycle events, resume/pause/destroy,
 *                 enforcement of the registry on this host
 *   hd_define.c   a define of a VM on its owner -> CONFIG (the registry
 *                 keeps each VM's domain XML)
 *   hd_fence.c    pacemaker's fencing history -> NODE_FENCED
 *   hd_history.c  the migrations this node saw, the destination's figures
 *                 of each (HANDOFF_STATS), the HISTORY request
 */
#ifndef HD_H
#define HD_H

#include <stdbool.h>
#include <stdint.h>

#include <libvirt/libvirt.h>

#include "vmh_ipc.h"
#include "vmh_registry.h"
#include "vmh_uri.h"

#define HD_DEFAULT_CONFIG "/etc/vmhandoff/vmhandoff.conf"
#define HD_DEFAULT_STATE_DIR "/var/lib/vmhandoff"
#define HD_CPG_GROUP "vmhandoff"
#define HD_TICK_MS 100

struct hd_config {
	char *config_file;
	char *state_dir;
	char *socket_path;
	char *libvirt_uri;
	char *migration_network;	/* CIDR text, NULL: publish no address */
	struct vmh_cidr mig_cidr;
	unsigned quorum_loss_pause_ms;	/* pause what we run this long after
					 * losing quorum */
	unsigned watchdog_timeout_ms;	/* sbd's; part of the expiry wait */
	unsigned expiry_margin_ms;
	bool debug;
};

/* 0, or -1 after logging what is wrong (names the key or flag). */
int hd_config_load(struct hd_config *cfg, int argc, char **argv);
void hd_config_free(struct hd_config *cfg);

/* A node of corosync's nodelist. */
struct hd_node {
	uint32_t id;
	char name[VMH_IPC_NODE_NAME_MAX + 1];
	bool in_quorum_view;		/* in corosync's (quorum) membership */
	int64_t out_since;		/* monotonic ms out of it; 0: in, or unknown */
	int64_t seen_left_wall;		/* wall s when this daemon saw it leave */
};

struct hd_client;
struct hd_domref;

/* A registry record this node multicast and waits to see delivered. */
struct hd_pending {
	struct hd_pending *next;
	uint32_t cookie;
	struct vmh_msg msg;		/* xml owned (xml_buf) */
	char *xml_buf;
	enum vmh_ipc_type req;		/* what the client asked, 0: internal */
	struct hd_client *client;	/* NULL: internal, or client gone */
	uint32_t client_seq;		/* which of the client's requests */
	int64_t deadline;		/* monotonic ms; 0 for internal */
	unsigned stale_retries;
	bool sent;			/* false: waits for the end of a sync */
	int64_t retry_at;		/* !sent: send again then (a takeover
					 * waiting for fencing), 0: after the sync */
};

/* A WAIT_OWNER request. */
struct hd_waiter {
	struct hd_waiter *next;
	char vm[VMH_REG_NAME_MAX + 1];
	struct hd_client *client;
	uint32_t client_seq;
	int64_t deadline;
};

/* A VM this node paused (or will pause) because it lost quorum. */
struct hd_qpause {
	struct hd_qpause *next;
	char vm[VMH_REG_NAME_MAX + 1];
	uint64_t epoch;			/* resume only if still this epoch */
	int64_t due;			/* monotonic ms of the pause */
	bool paused;			/* we paused it (so we may resume it) */
};

/* A VM name with a time: a VM claimed here whose domain the agent is
 * still creating (not reconciled before the lease ends); a VM defined
 * here whose XML is still to be pushed. */
struct hd_mark {
	struct hd_mark *next;
	char vm[VMH_REG_NAME_MAX + 1];
	int64_t until;
};
int hd_mark_add(struct hd_mark **head, const char *vm, int64_t until);	/* 0, -ENOMEM */
struct hd_mark *hd_mark_find(struct hd_mark *head, const char *vm);
void hd_mark_drop(struct hd_mark **head, const char *vm);
void hd_mark_free(struct hd_mark **head);

struct hd {
	struct hd_config cfg;
	bool quit;

	/* corosync */
	bool cs_up;			/* CPG and quorum connected, group joined */
	uint32_t self;
	size_t n_nodes;
	struct hd_node *nodes;
	uint64_t cpg_handle;
	uint64_t quorum_handle;
	int cpg_watch, quorum_watch;
	uint64_t totem_ring;		/* last totem ring seq seen on CPG */
	bool local_quorate;
	int reconnect_timer;

	/* registry */
	struct vmh_registry *reg;
	uint32_t next_cookie;
	struct hd_pending *pending;
	struct hd_waiter *waiters;
	struct hd_qpause *qpauses;
	struct hd_mark *leases;
	struct hd_mark *defined;	/* defined here, XML not pushed yet */
	char my_addr[VMH_REG_ADDR_MAX + 1];	/* in migration_network */
	int tick_timer;			/* housekeeping (hd_reg_tick) */
	bool tick_fast;			/* armed for HD_TICK_MS */

	/* libvirt */
	virConnectPtr conn;
	char *conn_uri;			/* virConnectGetURI(conn), NULL unknown */
	struct hd_domref *domrefs;	/* DOMSTATE's domain handles (hd_virt.c) */
	size_t n_domrefs;
	int lifecycle_cb;
	int virt_retry_timer;

	/* ipc */
	int listen_fd;
	int listen_watch;
	struct hd_client *clients;

	/* fencing */
	void *stonith;			/* stonith_t * */
};

/* hd_cluster.c */
int hd_cluster_connect(struct hd *hd);	/* 0 or -1 (retried by a timer) */
/* Leave corosync and come back in a second, the registry from disk. */
void hd_cluster_restart(struct hd *hd);
void hd_cluster_schedule_reconnect(struct hd *hd);
void hd_cluster_disconnect(struct hd *hd);
/* Multicast one encoded record in agreed order. 0, -EAGAIN (flow
 * control: retry later), -ENOTCONN. */
int hd_cluster_send(struct hd *hd, const uint8_t *buf, size_t len);
const struct hd_node *hd_node_by_id(const struct hd *hd, uint32_t id);
const struct hd_node *hd_node_by_name(const struct hd *hd, const char *name);
const char *hd_node_name(const struct hd *hd, uint32_t id);	/* "?" if none */

/* hd_registry.c: inputs */
int hd_reg_start(struct hd *hd);	/* a fresh registry from the state file */
void hd_reg_stop(struct hd *hd);	/* cluster connection lost */
/* Started without corosync: the VMs the state file has on this node are
 * paused after quorum_loss_pause, as on a quorum loss (a quorate
 * registry in time cancels it). */
void hd_reg_offline(struct hd *hd);
void hd_reg_membership(struct hd *hd, uint64_t ring, const uint32_t *members, size_t n,
		       const uint32_t *clean, size_t n_clean);
void hd_reg_quorum(struct hd *hd, bool quorate);
void hd_reg_ring_advanced(struct hd *hd);
void hd_reg_deliver(struct hd *hd, uint32_t sender, const void *buf, size_t len);
/* Housekeeping; returns when to call it again: HD_TICK_MS while anything
 * needs the clock, else the idle sweep's period. */
int hd_reg_tick(struct hd *hd);
/* An input arrived: tick every HD_TICK_MS again until idle. */
void hd_reg_kick(struct hd *hd);
/* Multicasts a record built in the current configuration. 0 or -errno. */
int hd_reg_send(struct hd *hd, struct vmh_msg *m);
/* Requests of clients and of the daemon itself. The registry replies
 * through hd_ipc_reply() when the record is delivered (or at the deadline). */
void hd_reg_request(struct hd *hd, struct hd_client *c, uint32_t seq,
		    const struct vmh_ipc_req *req);
/* The same record sent on the daemon's own account (no client). */
void hd_reg_internal(struct hd *hd, enum vmh_msg_type type, const char *vm);
/* With an XML (CLAIM, CONFIG); 0, -EBUSY (a record for vm in flight),
 * -ENOMEM, -ENOTCONN. */
int hd_reg_internal_xml(struct hd *hd, enum vmh_msg_type type, const char *vm, const char *xml,
			size_t xml_len);
bool hd_reg_busy(struct hd *hd, const char *vm);	/* a record for vm in flight */
/* Is xml what the registry holds for v (digest and length)? */
bool hd_reg_same_xml(const struct vmh_vm_info *v, const char *xml, size_t len);
void hd_reg_client_gone(struct hd *hd, const struct hd_client *c);
/* Is a domain of this name allowed to run here now? 1 yes, 0 no (pause
 * it), -1 the registry cannot say now (syncing, no config, unmanaged VM):
 * leave it as it is. */
int hd_reg_allowed_here(const struct hd *hd, const char *vm);
/* Local domain events the registry cares about. */
void hd_reg_dom_paused_incoming(struct hd *hd, const char *vm);
void hd_reg_dom_gone(struct hd *hd, const char *vm, bool migrated);
void hd_reg_dom_running(struct hd *hd, const char *vm);
void hd_reg_sweep(struct hd *hd);	/* enforce + reconcile all local domains */
void hd_reg_free(struct hd *hd);
/* Fills a STATUS reply (allocations owned by rep). */
void hd_reg_status(struct hd *hd, struct vmh_ipc_reply *rep);
/* This node's address in migration_network, into hd->my_addr. */
void hd_reg_find_address(struct hd *hd);

/* hd_ipc.c */
int hd_ipc_listen(struct hd *hd);
void hd_ipc_close(struct hd *hd);
void hd_ipc_reply(struct hd *hd, struct hd_client *c, uint32_t seq,
		  const struct vmh_ipc_reply *rep);

/* hd_virt.c */
int hd_virt_connect(struct hd *hd);	/* 0 or -1 (retried by a timer) */
void hd_virt_disconnect(struct hd *hd);
void hd_virt_schedule_retry(struct hd *hd);
/* Domain state here: VIR_DOMAIN_* state, or -1 no such domain, -2 no
 * libvirt connection. */
int hd_virt_state(struct hd *hd, const char *vm);
int hd_virt_state_reason(struct hd *hd, const char *vm, int *reason);
/* 1 done, 0 nothing to do (already so; for destroy: no such domain), -1
 * failed (logged). */
int hd_virt_pause(struct hd *hd, const char *vm, const char *why);
int hd_virt_resume(struct hd *hd, const char *vm, const char *why);
int hd_virt_destroy(struct hd *hd, const char *vm, const char *why);
/* Names of the active domains here (caller frees each and the array). */
int hd_virt_active(struct hd *hd, char ***names, size_t *n);
/* The persistent (inactive) definition of vm, secure fields included:
 * 0 with *xml (caller frees), -1 no such domain or not persistent, -2
 * libvirt failed. */
int hd_virt_inactive_xml(struct hd *hd, const char *vm, char **xml);
/* Job statistics of an outgoing migration of vm; 0 or -1. */
int hd_virt_progress(struct hd *hd, const char *vm, struct vmh_ipc_progress *p);
/* libvirt's completed job of vm, when it is an incoming migration
 * (VIR_DOMAIN_JOB_STATS_COMPLETED): 0 with what it says, -1 none. */
struct hd_job_figures {
	bool has_bytes, has_job, has_downtime;
	uint64_t bytes, job_ms, downtime_ms;
};
int hd_virt_job_completed(struct hd *hd, const char *vm, struct hd_job_figures *f);
/* DOMSTATE's libvirt part: the domain vm and the connection's URI into
 * rep, and its status (OK, or E_INTERNAL with a message). */
void hd_virt_domstate(struct hd *hd, const char *vm, struct vmh_ipc_reply *rep);

/* hd_define.c: a define on the owner pushes the new XML */
void hd_define_event(struct hd *hd, const char *vm);	/* libvirt DEFINED */
void hd_define_push(struct hd *hd);	/* pushes what is due; from the tick */

/* hd_history.c */
void hd_hist_load(struct hd *hd);	/* at start, from the state directory */
void hd_hist_close(struct hd *hd);	/* at exit: saves what is pending */
/* After an input that changed the registry: vm's handoff began or
 * ended (vm NULL: every VM, after a sync round); late: learned from a
 * sync, not from the record that decided it. */
void hd_hist_observe(struct hd *hd, const char *vm, bool late);
/* libvirt: the incoming migration of vm ended here (complete, paused). */
void hd_hist_ready(struct hd *hd, const char *vm);
/* RESUME_LOCAL was carried out for vm at epoch (resumed: this call
 * resumed it): the destination's figures go out. */
void hd_hist_resumed(struct hd *hd, const char *vm, uint64_t epoch, bool resumed);
/* A delivered HANDOFF_STATS message. */
void hd_hist_stats(struct hd *hd, uint32_t sender, const void *buf, size_t len);
/* The HISTORY request; replies at once. */
void hd_hist_request(struct hd *hd, struct hd_client *c, uint32_t seq,
		     const struct vmh_ipc_req *req);

/* hd_fence.c */
void hd_fence_poll(struct hd *hd);	/* called by the tick while needed */
void hd_fence_close(struct hd *hd);

#endif
