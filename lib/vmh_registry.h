/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmh_registry: the replicated owner registry, as a pure state machine.
 *
 * vmhandoffd joins a corosync CPG group; every change is a message that CPG
 * delivers in agreed (total) order to every member, and every member feeds
 * it, together with the membership changes, to this state machine. Given
 * the same inputs in the same order every replica makes the same decisions:
 * nothing here reads a clock, the network or a random number. A change is
 * decided by its delivery, never by the return of the send call.
 *
 * Inputs, all through this header:
 *   vmh_reg_membership()  a CPG configuration change (local, in order with
 *                         the messages);
 *   vmh_reg_set_quorate() this node's corosync quorum (libquorum), local;
 *   vmh_reg_apply()       a delivered message (decoded by vmh_wire).
 * Outputs: a verdict (why a message was rejected, for the logs) and a list
 * of effects the daemon must carry out on this node (send the state for a
 * sync, resume the incoming copy, destroy the paused source, ...).
 *
 * NOTE on what corosync does and does not promise, and how it is handled:
 * - Members that go through the same two configurations deliver the same
 *   messages between them, but members that end up in DIFFERENT partitions
 *   may have delivered different tails of the old configuration (extended
 *   virtual synchrony). So the other side of a split may have accepted a
 *   change we never saw. Hence (1) every configuration change is followed
 *   by a full state sync (below), and (2) no VM may become active (CLAIM,
 *   COMMIT, ABORT) while a node that left unannounced has no "witness":
 *   NODE_FENCED (pacemaker fenced it) or NODE_EXPIRED (it has been out of
 *   the corosync membership long enough to have paused everything by its
 *   own quorum-loss rule). See "settled" in the state table.
 * - corosync keeps its ring sequence in /var/lib/corosync/ringid_<id>.
 *   Were it lost on every node, new rings would number below the ids in
 *   our saved states and new decisions would sort below old ones in a
 *   merge. vmh_reg_membership() refuses such a ring (-ERANGE); the
 *   operator then restores the ring id or removes the state files.
 * - The join/leave lists of a confchg differ between members; only the
 *   member list is common (pmxcfs's dfsm.c says the same). We use only the
 *   member list.
 * - libquorum's notifications are not ordered with CPG deliveries, so the
 *   local quorum can not decide anything that must be identical on every
 *   replica. Each member reports its own corosync quorum in the total order
 *   (in its SYNC reply, then in QUORUM messages); the registry is quorate
 *   when every member reports quorate AND the members are a majority of the
 *   configured voters. The majority of *daemons* matters because the state
 *   lives in the daemons: a corosync-quorate partition whose daemons are
 *   all freshly started knows nothing.
 *
 * Configuration ids: corosync's totem ring sequence number, given with
 * each membership change. Every member of a ring knows its id before any
 * message is delivered in it, and a ring formed by members of ring R has a
 * higher id than R. So a decision taken by the side that stayed quorate
 * after a split always carries a higher id than anything the departed side
 * delivered in the old ring: merges order versions by (ring, epoch). (An
 * id computed by the sync round itself does not have this property: the
 * side that saw the round complete and the side that did not can reuse the
 * same id; the property test found exactly that.) CPG-only changes (a
 * daemon restarts, the ring stays) keep the id; within one ring the total
 * order is one line and the epoch decides.
 *
 * The sync round (after pmxcfs's dfsm): MEMBERSHIP -> syncing: every
 * message except SYNC_START/SYNC is rejected (the sender resends after the
 * round). The lowest nodeid member (effect SEND_SYNC_START) multicasts
 * SYNC_START(round, ring, members) with a fresh unique round id; on its
 * delivery each member (effect SEND_SYNC) multicasts its full state
 * SYNC(round, image). When the images of all members are delivered, every
 * replica folds them, in delivery order, into one state (the same on all
 * replicas, whatever each had before). Replies are sent only after the
 * SYNC_START is delivered, which is after the membership change, so a
 * reply is always fresh; a reply or a SYNC_START of another round is
 * rejected.
 *
 * Time enters only through delivered messages: NODE_EXPIRED is the
 * "timer fired" event of some member, entered into the total order like
 * pacemaker's fencing facts (NODE_FENCED), so every replica decides a
 * takeover alike. What the daemon must guarantee before sending each one
 * is written next to the record types below.
 *
 * What the daemon must do around this machine (the property test runs a
 * simulated daemon that does exactly this, and fails if it does less):
 * - Save the state (vmh_regstore) after every input that changed it and
 *   before acting on its effects: a restarted daemon must never come back
 *   with an older state than it acted on.
 * - One request per VM at a time: act on the delivery of its own record
 *   before sending the next one for that VM (pacemaker serializes the
 *   operations on a resource the same way); resend a record refused with
 *   VMH_REG_R_SYNCING after VMH_EFF_SYNCED.
 * - When its own CLAIM is accepted, boot the guest from its disk; a paused
 *   local copy is destroyed first, never resumed. Copies are resumed only
 *   on RESUME_LOCAL / RESUME_SOURCE, or after a quorum-loss pause if
 *   may_run() holds again AND the VM's epoch is still the one it was
 *   paused at (any decision in between means another copy may have run).
 * - Stop the guest before sending RELEASE; destroy its copy before sending
 *   HANDOFF_ABORT as a destination.
 * - Pause on PAUSE_LOCAL after quorum_loss_pause (immediately if it comes
 *   from the first quorum report after a start), keep a watchdog armed
 *   while guests run, and send NODE_EXPIRED only after quorum_loss_pause +
 *   watchdog timeout + margin.
 * - On vmh_reg_apply() < 0 leave the CPG group and start over from disk.
 */
#ifndef VMH_REGISTRY_H
#define VMH_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmh_sha256.h"

#define VMH_REG_NAME_MAX 64		/* bytes of a VM name */
#define VMH_REG_XML_MAX (1u << 20)	/* bytes of a domain XML */
#define VMH_REG_ADDR_MAX 64		/* bytes of a migration-link address */
#define VMH_REG_MAX_NODES 128		/* corosync supports fewer */
#define VMH_REG_MAX_VMS 4096

/*
 * Per VM state table. "E" is the epoch the message expects, "epoch" the
 * VM's; N the sender (a member of the configuration). Every accepted row
 * sets epoch+1 and the version key (ring of the configuration, new epoch).
 *
 * Preconditions of every row: this replica is in a configuration, not
 * syncing; N is a member; the agreed quorum holds; E == epoch (E == 0 for
 * a VM the registry does not know yet). Otherwise the message is rejected
 * and nothing changes.
 *
 * witnessed(X)  X is not a member and a NODE_FENCED (or, if the VM does
 *               not require fencing, a NODE_FENCED or NODE_EXPIRED) was
 *               delivered for X's latest departure. (NODE_EXPIRED is
 *               refused for a clean departure.)
 * present(X)    X is a member.
 * settled       every node that left without a clean CPG leave is
 *               witnessed (either kind), i.e. no departed node can be
 *               running a VM because of a change we did not see.
 *
 *  state        record          condition                     -> state       effects on that node
 *  -----------  --------------  ----------------------------  -------------  ---------------------
 *  unknown      CLAIM           settled                       RUNNING(N)     -
 *  STOPPED      CLAIM           settled                       RUNNING(N)     -
 *  RUNNING(X)   CLAIM           N == X (idempotent re-claim)  RUNNING(N)     -
 *  RUNNING(X)   CLAIM           N != X, witnessed(X), settled RUNNING(N)     X: REVOKE_LOCAL
 *                                (takeover)
 *  MIGR(S->D)   CLAIM           N == S, present(D) or         RUNNING(S)     S: RESUME_SOURCE,
 *                               witnessed(D), settled                        D: ENSURE_NO_DEST
 *                                (the source starts again: an abort)
 *  MIGR(S->D)   CLAIM           N not S/D, witnessed(S) and   RUNNING(N)     S: ENSURE_NO_SOURCE,
 *                               witnessed(D), settled                        D: ENSURE_NO_DEST
 *  RUNNING(X)   RELEASE         N == X                        STOPPED        -
 *  RUNNING(X)   HANDOFF_BEGIN   N == X, D present, D != X     MIGR(X->D)     -
 *  MIGR(S->D)   HANDOFF_COMMIT  N is S or D, present(S) or    RUNNING(D)     D: RESUME_LOCAL,
 *                               witnessed(S), settled                        S: ENSURE_NO_SOURCE
 *  MIGR(S->D)   HANDOFF_ABORT   N is S or D, present(D) or    RUNNING(S)     S: RESUME_SOURCE,
 *                               witnessed(D), settled                        D: ENSURE_NO_DEST
 *  RUNNING(X)   CONFIG          N == X                        RUNNING(X)     - (new XML + digest)
 *  STOPPED      CONFIG          -                             STOPPED        - (new XML + digest)
 *  unknown      CONFIG          -                             STOPPED        - (new XML + digest)
 *  any other combination                                      rejected       -
 *
 * Why the conditions:
 * - COMMIT needs the source present or witnessed: with the source's daemon
 *   gone nobody destroys the paused source copy, and libvirt's Confirm
 *   step may resume it. ABORT needs the destination present or witnessed
 *   for the mirror reason (its side may have delivered a COMMIT we did not
 *   see and resumed).
 * - Who sends COMMIT: the destination, as soon as its QEMU holds the
 *   complete state (end of the incoming migration); the source may send it
 *   too, but only after libvirt reported the migration finished, as a
 *   fallback when the destination's helper missed the event. Who sends
 *   ABORT: the source when the migration failed or was cancelled, the
 *   destination when its incoming migration failed (after destroying its
 *   copy). Whichever is delivered first decides; the other finds a newer
 *   epoch and is rejected.
 * - CONFIG during MIGRATING is rejected: a new epoch would make the
 *   destination's COMMIT stale and fail the migration.
 *
 * On LOCAL quorum loss (vmh_reg_set_quorate(false)) every VM this node
 * runs (RUNNING owner) or carries (MIGRATING src or dst) gets PAUSE_LOCAL;
 * the daemon pauses it after quorum_loss_pause (riding out a blip).
 */
enum vmh_vm_state {
	VMH_VM_STOPPED = 0,
	VMH_VM_RUNNING = 1,
	VMH_VM_MIGRATING = 2,
};

enum vmh_msg_type {
	VMH_MSG_CLAIM = 1,
	VMH_MSG_RELEASE = 2,
	VMH_MSG_HANDOFF_BEGIN = 3,
	VMH_MSG_HANDOFF_COMMIT = 4,
	VMH_MSG_HANDOFF_ABORT = 5,
	VMH_MSG_CONFIG = 6,
	/* The daemon sends NODE_FENCED(X, departure) only for a fencing of X
	 * that pacemaker's fencer reports completed AFTER the departure it
	 * names (take the departure id from vmh_reg_node(), and only fencing
	 * events observed after this node saw X leave). */
	VMH_MSG_NODE_FENCED = 7,
	/* NODE_EXPIRED(X, departure): X has been out of the COROSYNC membership
	 * (not merely the CPG group) for at least quorum_loss_pause + the
	 * watchdog timeout + margin on the sender's monotonic clock, while the
	 * sender itself was quorate. Then X, having lost quorum, has paused
	 * all its VMs by its own rule, or (its daemon dead or hung) its
	 * watchdog has reset it: vmhandoffd must keep a watchdog armed while
	 * guests run. Refused for a clean departure (the daemon exited while
	 * its host stayed, guests running, nobody to pause them): only
	 * fencing clears such a node. */
	VMH_MSG_NODE_EXPIRED = 8,
	VMH_MSG_ADDRESS = 9,		/* sender's migration-link address */
	VMH_MSG_QUORUM = 10,		/* sender's corosync quorum changed; names
					 * the last round the sender completed */
	VMH_MSG_SYNC_START = 11,	/* lowest member: begin a sync round */
	VMH_MSG_SYNC = 12,		/* a member's full state for the round */
};
#define VMH_MSG_TYPE_MAX VMH_MSG_SYNC

struct vmh_reg_image;

/*
 * A decoded message. Pointers are borrowed by vmh_reg_apply(); the decoder
 * (vmh_wire) allocates them and vmh_wire_msg_clear() frees them.
 */
struct vmh_msg {
	enum vmh_msg_type type;
	uint64_t config;		/* sender's configuration when built */
	uint32_t cookie;		/* sender's request id; not interpreted */
	/* VM records (CLAIM .. CONFIG) */
	char vm[VMH_REG_NAME_MAX + 1];
	uint64_t expect;		/* the epoch the sender saw */
	uint8_t uuid[16];		/* CLAIM: all zero = unspecified */
	bool require_fencing;		/* CLAIM */
	const char *xml;		/* CLAIM (optional), CONFIG; NUL-terminated */
	size_t xml_len;
	/* node records, HANDOFF_BEGIN */
	uint32_t node;			/* BEGIN: dst; NODE_*: the node; ADDRESS: sender */
	uint64_t departure;		/* NODE_*: the departure it certifies */
	uint64_t fence_time;		/* NODE_FENCED: completion, s since 1970 */
	uint32_t waited_ms;		/* NODE_EXPIRED: for the logs */
	char addr[VMH_REG_ADDR_MAX + 1];	/* ADDRESS */
	bool quorate;			/* QUORUM */
	/* sync */
	uint64_t round;			/* SYNC_START, SYNC; QUORUM: last completed */
	uint64_t ring;			/* SYNC_START: the membership it syncs */
	size_t n_members;		/* SYNC_START */
	uint32_t members[VMH_REG_MAX_NODES];
	const struct vmh_reg_image *image;	/* SYNC */
};

/* Why a message was rejected. VMH_REG_OK: applied. */
enum vmh_reg_reason {
	VMH_REG_OK = 0,
	VMH_REG_R_NOT_IN_CONFIG,	/* this replica is in no configuration */
	VMH_REG_R_SYNCING,		/* sync round running: resend after it */
	VMH_REG_R_SENDER,		/* sender is not a member */
	VMH_REG_R_FUTURE,		/* built in a configuration not reached */
	VMH_REG_R_NO_QUORUM,
	VMH_REG_R_MALFORMED,		/* bad name, XML, node id, ... */
	VMH_REG_R_TYPE,			/* unknown record type */
	VMH_REG_R_STALE_EPOCH,
	VMH_REG_R_STATE,		/* record not valid in the VM's state */
	VMH_REG_R_NOT_OWNER,		/* sender may not do this */
	VMH_REG_R_DST,			/* bad handoff destination */
	VMH_REG_R_OWNER_PRESENT,	/* claim over an owner still a member */
	VMH_REG_R_NO_WITNESS,		/* departed party not fenced/expired */
	VMH_REG_R_UNSETTLED,		/* some lost departure not witnessed */
	VMH_REG_R_UUID,			/* uuid differs from the registered one */
	VMH_REG_R_NODE_PRESENT,		/* witness about a member */
	VMH_REG_R_DEPARTURE,		/* witness for another departure */
	VMH_REG_R_DUPLICATE,		/* already recorded; nothing changes */
	VMH_REG_R_STALE_CONFIG,		/* QUORUM sent before the last sync round */
	VMH_REG_R_NOT_LEADER,		/* SYNC_START not from the lowest member */
	VMH_REG_R_STALE_ROUND,		/* SYNC_START/SYNC of another round */
	VMH_REG_R_FULL,			/* too many VMs */
	VMH_REG_R_NOT_EXPIRABLE,	/* expiry of a clean departure: fence it */
};
const char *vmh_reg_reason_str(enum vmh_reg_reason r);

enum vmh_reg_effect_type {
	VMH_EFF_SEND_SYNC_START = 1,	/* multicast SYNC_START with a fresh
					 * unique round id (e.g. getrandom) */
	VMH_EFF_SEND_SYNC,		/* multicast SYNC(round, our image) */
	VMH_EFF_SEND_QUORUM,		/* multicast QUORUM(our corosync quorum) */
	VMH_EFF_SYNCED,			/* round done: save, resend rejected */
	VMH_EFF_PAUSE_LOCAL,		/* quorum lost: pause after the delay */
	VMH_EFF_REVOKE_LOCAL,		/* owner moved: pause now, destroy, never resume */
	VMH_EFF_RESUME_LOCAL,		/* committed to us: resume the incoming copy */
	VMH_EFF_ENSURE_NO_SOURCE,	/* committed away: destroy the paused source */
	VMH_EFF_RESUME_SOURCE,		/* aborted: resume our source copy */
	VMH_EFF_ENSURE_NO_DEST,		/* aborted: destroy the incoming copy */
	VMH_EFF_CONFLICT,		/* sync found two versions it can not order */
};
const char *vmh_reg_effect_str(enum vmh_reg_effect_type t);

struct vmh_reg_effect {
	enum vmh_reg_effect_type type;
	char vm[VMH_REG_NAME_MAX + 1];	/* VM effects */
	uint64_t epoch;			/* the VM's epoch after the change */
	uint64_t round;			/* SEND_SYNC: reply to; SEND_QUORUM, SYNCED:
					 * the last completed round */
	uint64_t ring;			/* SEND_SYNC_START: put it in the message */
};

struct vmh_reg_result {
	enum vmh_reg_reason reason;
	size_t n_effects;
	struct vmh_reg_effect *effects;
	size_t cap;			/* internal */
};
/* Frees the effects; the result can be reused after. */
void vmh_reg_result_clear(struct vmh_reg_result *res);

/* Public view of a VM record. */
struct vmh_vm_info {
	char name[VMH_REG_NAME_MAX + 1];
	uint8_t uuid[16];
	enum vmh_vm_state state;
	uint32_t owner;			/* RUNNING: owner; MIGRATING: source */
	uint32_t dst;			/* MIGRATING: destination, else 0 */
	uint64_t epoch;			/* only grows; the fencing token */
	/* Version key, compared (config, epoch) when states are merged: the
	 * configuration and epoch of the last decided change. A sync may raise
	 * epoch above vkey_epoch, never the key itself. */
	uint64_t vkey_config;
	uint64_t vkey_epoch;
	bool require_fencing;
	char *xml;			/* "" if none; NUL-terminated */
	size_t xml_len;
	uint8_t digest[VMH_SHA256_LEN];	/* SHA-256 of xml[0..xml_len) */
};

/* Public view of what a replica knows about a node. */
struct vmh_node_info {
	uint32_t nodeid;
	bool member;			/* in the image author's membership */
	bool clean;			/* last departure was a clean CPG leave */
	bool quorate;			/* its last reported corosync quorum */
	uint64_t left;			/* ring of its last departure, 0: none */
	uint64_t fenced_for;		/* departure certified by NODE_FENCED */
	uint64_t expired_for;		/* departure certified by NODE_EXPIRED */
	uint64_t fence_time;		/* latest reported fence completion */
	uint64_t addr_config;		/* config in which addr was set */
	char addr[VMH_REG_ADDR_MAX + 1];
};

/*
 * A full state: what SYNC carries and what the state file holds. Nodes
 * sorted by nodeid, VMs by name (strcmp), no duplicates: the encoding of a
 * state is canonical, so equal states encode to equal bytes.
 */
struct vmh_reg_image {
	uint32_t author;		/* node that produced it */
	uint32_t voters;		/* author's configured number of voters */
	bool quorate;			/* author's corosync quorum */
	uint64_t config;		/* ring of the last completed sync */
	uint64_t ring;			/* ring of the author's latest membership
					 * (>= config; departures carry it) */
	size_t n_nodes;
	struct vmh_node_info *nodes;
	size_t n_vms;
	struct vmh_vm_info *vms;
};
void vmh_reg_image_free(struct vmh_reg_image *img);
/* Checks the invariants a decoder can not express field by field:
 * order, uniqueness, names, state/owner consistency. 0 or -EINVAL. */
int vmh_reg_image_check(const struct vmh_reg_image *img);

/*
 * Pairwise merge used by the sync round, exposed for tests and tools:
 * merges in into acc (deep copies). Per VM the higher version key
 * (vkey_config, vkey_epoch) wins; the epoch becomes at least the higher of
 * the two, and strictly higher than the loser's when the contents differ,
 * so a message built on the losing side is stale everywhere. Same key,
 * different content can not come out of a quorate decision (see the .c);
 * if it happens anyway, acc's version (the earlier one in the agreed order,
 * hence the same on all replicas) is kept, the epoch raised, and the VM
 * name is reported through *conflicts (count) and effects if res != NULL.
 * 0, -ENOMEM (acc then unchanged for that VM), -E2BIG.
 */
int vmh_reg_image_merge(struct vmh_reg_image *acc, const struct vmh_reg_image *in,
			unsigned *conflicts, struct vmh_reg_result *res);

/* Name rule: 1..64 bytes, printable ASCII (0x20-0x7e), no '/'. */
bool vmh_reg_name_ok(const char *name, size_t len);
/* Address rule: 1..64 bytes of [0-9A-Za-z.:%_[]-] (IPv4/IPv6, zone, brackets). */
bool vmh_reg_addr_ok(const char *addr, size_t len);

struct vmh_registry;

/* self: this node's id; voters: the number of nodes configured to run the
 * daemon (corosync nodelist), for the majority. NULL on ENOMEM/EINVAL. */
struct vmh_registry *vmh_reg_new(uint32_t self, uint32_t voters);
void vmh_reg_free(struct vmh_registry *reg);

/* Loads a saved state into a registry that has seen no membership yet.
 * The nodes that were members when it was saved stay "members" until the
 * first membership change, which then records their departure: we can not
 * know what they did while we were down. 0, -EBUSY (already in use),
 * -EINVAL (image fails vmh_reg_image_check), -ENOMEM. */
int vmh_reg_load(struct vmh_registry *reg, const struct vmh_reg_image *img);

/*
 * A CPG configuration change: ring, the totem ring sequence number current
 * when CPG delivered it (cpg_totem_confchg_fn's ring_id.seq; the same on
 * every member, never lower than before: corosync keeps it in
 * /var/lib/corosync), the member list (any order), and those of the
 * departed nodes whose CPG reason was a clean leave or a process exit
 * (CPG_REASON_LEAVE, CPG_REASON_PROCDOWN): their departure was in the
 * total order, so they can not have delivered anything we did not. Every
 * other departure counts as lost. Starts a sync round.
 * 0, -EINVAL (ring 0, nodeid 0, too many), -ERANGE (ring lower than one
 * seen before: corosync's ring id file was lost; refusing is the only safe
 * answer, see the NOTE at the top), -E2BIG, -ENOMEM.
 */
int vmh_reg_membership(struct vmh_registry *reg, uint64_t ring, const uint32_t *members,
		       size_t n, const uint32_t *clean_left, size_t n_clean,
		       struct vmh_reg_result *res);

/* This node's corosync quorum (libquorum; a lost quorum connection counts
 * as not quorate). Local: emits PAUSE_LOCAL on loss, and on a first report
 * of "not quorate" after start (a daemon starting without quorum pauses
 * at once what it finds running, no grace), and SEND_QUORUM when the
 * agreed report of this node must change. 0 or -ENOMEM. */
int vmh_reg_set_quorate(struct vmh_registry *reg, bool quorate, struct vmh_reg_result *res);

/*
 * A message delivered by CPG from sender. res->reason says whether it was
 * applied; res->effects what this node must do. Returns 0, or -ENOMEM /
 * -EINVAL: then the replica may have diverged and the daemon must leave the
 * group and start over from its saved state (like pmxcfs's error mode).
 */
int vmh_reg_apply(struct vmh_registry *reg, uint32_t sender, const struct vmh_msg *msg,
		  struct vmh_reg_result *res);

/*
 * The predicate the agent and the enforcement ask: true only for node, the
 * owner of a RUNNING VM, in a configuration that is quorate (agreed AND
 * this node's corosync) and not syncing. False during a sync round: start
 * and resume nothing then, but do not pause a running guest for it (pause
 * only on PAUSE_LOCAL/REVOKE_LOCAL).
 */
bool vmh_reg_may_run(const struct vmh_registry *reg, const char *vm, uint32_t node);

/* Lookups; pointers inside *out (xml) are valid until the next input.
 * vmh_reg_node()'s left is the departure a NODE_FENCED/NODE_EXPIRED names. */
int vmh_reg_vm(const struct vmh_registry *reg, const char *name, struct vmh_vm_info *out);
size_t vmh_reg_vm_count(const struct vmh_registry *reg);
const struct vmh_vm_info *vmh_reg_vm_at(const struct vmh_registry *reg, size_t i);
int vmh_reg_node(const struct vmh_registry *reg, uint32_t nodeid, struct vmh_node_info *out);

/* Ring of the last completed sync round: goes in msg.config. */
uint64_t vmh_reg_config(const struct vmh_registry *reg);
/* Id of the last completed round: goes in QUORUM's round. */
uint64_t vmh_reg_last_round(const struct vmh_registry *reg);
bool vmh_reg_in_config(const struct vmh_registry *reg);
bool vmh_reg_syncing(const struct vmh_registry *reg);
/* Agreed quorum and this node's corosync quorum. */
bool vmh_reg_quorate(const struct vmh_registry *reg);

/* The current state as an image (for SYNC and the state file), read-only,
 * valid until the next input. */
const struct vmh_reg_image *vmh_reg_image(const struct vmh_registry *reg);

/* Replicated state equal (configuration, membership, sync round, nodes,
 * VMs); self and the local quorum are not compared. */
bool vmh_reg_equal(const struct vmh_registry *a, const struct vmh_registry *b);

#endif
