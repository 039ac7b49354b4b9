/* SPDX-License-Identifier: MIT */
/* snapshot.h - writing and loading whole-state snapshots (format: journal.h). */
#ifndef PSMD_SNAPSHOT_H
#define PSMD_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "psm_err.h"
#include "state.h"

/* Name of snapshot or segment number seq in buf: "snapshot.000004", "journal.000004". */
void snapshot_name(uint32_t seq, char *buf, size_t n);
void journal_segment_name(uint32_t seq, char *buf, size_t n);

/*
 * Writes every record of st (grants, sessions, tombstones) to dirfd's
 * "snapshot.new" (0600), fsyncs it, renames it to snapshot.<seq> and fsyncs
 * the directory.  On failure snapshot.new is removed.
 */
int snapshot_write(int dirfd, uint32_t seq, const struct state *st, struct psm_err *err);

/* A snapshot being written by a child process (snapshot_child.c). */
struct snapshot_child {
	pid_t pid; /* 0: none */
	int report; /* the child writes why it failed here */
	uint32_t seq;
};

/*
 * Forks a child that runs snapshot_write(dirfd, seq, st) on its copy-on-write
 * image of st and exits; the caller goes on at once (and may change st).
 * PSM_ESYS when the pipe or the fork fails.
 */
int snapshot_spawn(int dirfd, uint32_t seq, const struct state *st, struct snapshot_child *c,
		   struct psm_err *err);
/* Whether the child has finished (block: waits for it): 0 still running or none,
 * 1 snapshot.<seq> is written, -1 it failed (err says why).  c is empty after 1 or -1. */
int snapshot_reap(struct snapshot_child *c, bool block, struct psm_err *err);
/* Ends a running child (SIGKILL) and waits for it; its snapshot.new stays behind. */
void snapshot_kill(struct snapshot_child *c);

/*
 * Loads snapshot.<seq> from dirfd into st (which should be empty): header,
 * every frame and CRC, the record count, every record's validity.  Expired
 * records are not stored; *records and *dropped count them.  Any damage:
 * PSM_EUNAVAIL naming the file and byte.
 */
int snapshot_load(int dirfd, uint32_t seq, struct state *st, int64_t now, uint64_t *records,
		  uint64_t *dropped, struct psm_err *err);

/* Reads a whole file of dirfd (at most 4 GiB) into malloc'd *data. */
int snapshot_read_file(int dirfd, const char *name, unsigned char **data, size_t *size,
		       struct psm_err *err);

/* Parses and validates record JSON into r; one that does not is PSM_EUNAVAIL. */
int snapshot_parse_json(const char *json, size_t len, struct record *r, struct psm_err *err);
/* Parses record JSON, validates it and applies it to st at now.  A record
 * that does not parse or validate is PSM_EUNAVAIL (the caller names the place). */
int snapshot_apply_json(struct state *st, const char *json, size_t len, int64_t now, int *outcome,
			struct psm_err *err);

/* write() all of p, retrying on EINTR and short writes; PSM_ESYS names what. */
int snapshot_write_all(int fd, const void *p, size_t n, const char *what, struct psm_err *err);

/* A kind of state file (format: journal.h): its magic, header size, name in messages. */
struct snapshot_kind {
	const char *magic;	/* 8 bytes */
	size_t hdr_size;
	const char *what;	/* "snapshot", "journal" */
};

/* Checks the header of state file name, d[0..size): k's magic (a file shorter than
 * k->hdr_size has none), format JOURNAL_FORMAT, number seq.  PSM_EUNAVAIL naming name. */
int snapshot_check_header(const unsigned char *d, size_t size, const struct snapshot_kind *k,
			  uint32_t seq, const char *name, struct psm_err *err);

/* What snapshot_apply_frames read. */
struct snapshot_frames {
	uint64_t records;	/* records read */
	uint64_t dropped;	/* of them, expired at now (not stored) */
	uint64_t ignored;	/* of them, neither applied nor expired */
	const char *why;	/* a damaged frame stopped the walk: what was wrong ... */
	size_t bad_at;		/* ... and the byte its frame starts at */
};

/*
 * Applies every framed record of d[off..size) (file name) to st at now, counting into *f.
 * A damaged frame: PSM_EUNAVAIL "NAME: WHY at byte N" with f->why and f->bad_at set
 * (journal segments are read by journal_scan.h instead, which resyncs); a record that
 * does not apply: its error,
 * prefixed "NAME: record at byte N", f->why NULL.
 */
int snapshot_apply_frames(struct state *st, const unsigned char *d, size_t size, size_t off,
			  const char *name, int64_t now, struct snapshot_frames *f,
			  struct psm_err *err);

/* Little-endian helpers for the headers. */
void snapshot_put_u32(unsigned char *p, uint32_t v);
void snapshot_put_u64(unsigned char *p, uint64_t v);
uint32_t snapshot_get_u32(const unsigned char *p);
uint64_t snapshot_get_u64(const unsigned char *p);

#endif
