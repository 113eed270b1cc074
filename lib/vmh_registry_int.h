/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internal to the registry module (vmh_registry.c, vmh_regsync.c,
 * vmh_regimage.c): the registry's struct and the helpers its files share.
 * Not for other modules: they use vmh_registry.h.
 */
#ifndef VMH_REGISTRY_INT_H
#define VMH_REGISTRY_INT_H

#include "vmh_registry.h"

/* Index of name / nodeid, or -(insertion point) - 1 if absent. */
long vmh_regimg_find_vm(const struct vmh_reg_image *img, const char *name);
long vmh_regimg_find_node(const struct vmh_reg_image *img, uint32_t nodeid);

/* Insert a zeroed entry at the insertion point pos (from find); returns
 * the entry or NULL on ENOMEM / E2BIG. */
struct vmh_vm_info *vmh_regimg_insert_vm(struct vmh_reg_image *img, size_t pos);
struct vmh_node_info *vmh_regimg_insert_node(struct vmh_reg_image *img, size_t pos);

/* Deep copy of one VM (dst's old xml is freed). 0 or -ENOMEM (dst kept). */
int vmh_regimg_copy_vm(struct vmh_vm_info *dst, const struct vmh_vm_info *src);
/* Replace xml (copied, digest recomputed). 0 or -ENOMEM (vm kept). */
int vmh_regimg_set_xml(struct vmh_vm_info *vm, const char *xml, size_t len);

/* Same replicated content: everything but epoch and the version key. */
bool vmh_regimg_same_content(const struct vmh_vm_info *a, const struct vmh_vm_info *b);
bool vmh_regimg_vm_equal(const struct vmh_vm_info *a, const struct vmh_vm_info *b);
bool vmh_regimg_node_equal(const struct vmh_node_info *a, const struct vmh_node_info *b);
/* config, nodes and VMs equal (author, voters, quorate not compared). */
bool vmh_regimg_equal(const struct vmh_reg_image *a, const struct vmh_reg_image *b);

/* Deep copy of a whole image into an empty *dst. 0 or -ENOMEM. */
int vmh_regimg_copy(struct vmh_reg_image *dst, const struct vmh_reg_image *src);

/* Append an effect; the caller reserved room first (vmh_regimg_reserve),
 * so that no allocation can fail after a state change. */
int vmh_regimg_reserve(struct vmh_reg_result *res, size_t more);
void vmh_regimg_effect(struct vmh_reg_result *res, enum vmh_reg_effect_type type,
		       const char *vm, uint64_t epoch, uint64_t round);

struct vmh_registry {
	/* The replicated state, kept in image form so that SYNC replies and
	 * the state file are this very struct. author/voters/quorate in it
	 * are local: self, our configured voters, our corosync quorum. */
	struct vmh_reg_image st;
	uint32_t voters_agreed;		/* max over the last round's replies */
	uint64_t last_round;		/* id of the last completed sync round */
	bool used;			/* has seen a membership: no load */
	bool quorum_known;		/* set_quorate() called since start */
	bool in_config;			/* self is in members */
	size_t n_members;
	uint32_t members[VMH_REG_MAX_NODES];	/* sorted */
	/* Sync round: started by MEMBERSHIP, running once SYNC_START is
	 * delivered, done when every member's SYNC is. */
	bool syncing;
	uint64_t change_ring;		/* ring given with the last membership:
					 * it marks the departures of that change */
	bool round_started;
	uint64_t round;
	bool awaited[VMH_REG_MAX_NODES];	/* by index in members */
	bool reply_quorate[VMH_REG_MAX_NODES];
	uint32_t reply_voters;
	struct vmh_reg_image acc;	/* fold of the replies so far */
};

long vmh_regint_member_index(const struct vmh_registry *reg, uint32_t nodeid);
const struct vmh_node_info *vmh_regint_node_of(const struct vmh_registry *reg, uint32_t nodeid);
void vmh_regint_sort_unique(uint32_t *v, size_t *n);
void vmh_regint_result_reset(struct vmh_reg_result *res);
/* Sets the verdict, returns 0: the input itself went fine. */
int vmh_regint_reject(struct vmh_reg_result *res, enum vmh_reg_reason why);
/* Effects on this node of a VM going from before to after (either NULL):
 * resume: a decided COMMIT/ABORT may resume a copy, a sync never does;
 * released: the owner itself released it (it stopped its guest first). */
void vmh_regint_transition(struct vmh_reg_result *res, const char *name,
			   const struct vmh_vm_info *before, const struct vmh_vm_info *after,
			   uint32_t self, bool resume, bool released);

/* The sync round (vmh_regsync.c). */
enum vmh_reg_reason vmh_regsync_start(struct vmh_registry *reg, uint32_t sender,
				      const struct vmh_msg *msg, struct vmh_reg_result *res);
int vmh_regsync_reply(struct vmh_registry *reg, uint32_t sender, const struct vmh_msg *msg,
		      struct vmh_reg_result *res);

#endif
