/* SPDX-License-Identifier: MIT */
/* shm_alloc.h - internal: the writer's allocator of arena units (state in the writer's heap). */
#ifndef PSM_SHM_ALLOC_H
#define PSM_SHM_ALLOC_H

#include <stdint.h>

/*
 * Blocks of whole 64-byte units.  Free blocks are kept on doubly linked lists
 * by size (1..64 units exactly, and one list for bigger blocks) and merged
 * with free neighbours at once, found by boundary tags (size at the first and
 * at the last unit).  Units from `bump` up have never been handed out (or
 * were merged back into that tail).  Nothing here lives in shared memory, and
 * blocks never move: a record's unit is its stable handle.
 */
#define SHM_ALLOC_LISTS 66

struct shm_alloc {
	uint32_t units;	       /* size of the arena */
	uint32_t bump;	       /* start of the untouched tail */
	uint64_t used;	       /* units handed out */
	uint32_t *fsize;       /* first unit of a free block: its size, else 0 */
	uint32_t *ftail;       /* last unit of a free block: its size, else 0 */
	uint32_t *next, *prev; /* free-list links (SHM_NONE at the ends) */
	uint32_t head[SHM_ALLOC_LISTS];
};

/* PSM_OK, or PSM_ENOMEM (the caller says which table). */
int shm_alloc_init(struct shm_alloc *a, uint32_t units);
void shm_alloc_fini(struct shm_alloc *a);
/* First unit of n free units (1..SHM_REC_MAX/64), or SHM_NONE when no block is big enough. */
uint32_t shm_alloc_get(struct shm_alloc *a, uint32_t n);
/* Returns the n units at u (from shm_alloc_get) and merges them with free neighbours. */
void shm_alloc_put(struct shm_alloc *a, uint32_t u, uint32_t n);

#endif
