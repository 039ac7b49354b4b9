/* SPDX-License-Identifier: MIT */
/* shm.h - public API of the psm shared-memory table: one writer, lock-free readers. */
#ifndef PSM_SHM_H
#define PSM_SHM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "psm_err.h"

/*
 * The table is a POSIX shm object (/dev/shm/NAME) holding a hash of
 * variable-size records keyed by (kind, key).  psmd is the only writer; every
 * other process maps it read-only and reads it under a table-wide seqlock
 * (an even sequence number that does not change across the read), so a
 * reader never waits on the writer.  Every record carries a CRC32C, every
 * offset is bounds-checked, and any inconsistency is PSM_EUNAVAIL, never a
 * crash and never a made-up answer.
 *
 * Keys by kind:
 *   SHM_GRANT, SHM_DENY  user name ("alice") or "%" + decimal gid ("%10")
 *   SHM_SESSION          session id (26 chars base32)
 *   SHM_SERVICE          PAM service name -> required permission
 *   SHM_BREAKGLASS       user name
 */

enum shm_kind {
	SHM_GRANT = 1,
	SHM_DENY = 2,
	SHM_SESSION = 3,
	SHM_SERVICE = 4,
	SHM_BREAKGLASS = 5,
	/* Iteration only: the SHM_GRANT and SHM_DENY records of a principal in one pass
	 * (they share a hash, so one chain walk finds both). */
	SHM_RULE = 0x80,
};

/* Record flags. */
#define SHM_FL_GROUP 0x01	  /* principal is a group: key is "%gid" */
#define SHM_FL_SRC_POLICY 0x02	  /* from the policy file (permanent) */
#define SHM_FL_SRC_ADMIN 0x04	  /* from psmctl / the admin socket */
#define SHM_FL_SRC_FLEET 0x08	  /* from Redis */
#define SHM_FL_SESSION_BOUND 0x10 /* grant applies only inside one session */
#define SHM_FL_UID_CHECKED 0x20	  /* uid field is valid: reader compares it */

/* Field indices: opaque byte strings after the fixed part of a record. */
enum shm_field {
	SHM_F_KEY = 0, /* the hash key (see above) */
	SHM_F_PRINCIPAL =
	    1,		   /* display principal: "alice" or "%wheel" (grant/deny); user (session) */
	SHM_F_PATTERN = 2, /* grant/deny pattern; service: the required permission */
	SHM_F_FROM = 3,	   /* encoded 'from' conditions (policy/cond.h); empty = anywhere */
	SHM_F_HOSTS = 4,   /* grant: host scope text; session: service name */
	SHM_F_REASON = 5,  /* grant: reason; session: tty */
	SHM_F_ISSUER = 6,  /* grant: issuer; session: rhost */
	SHM_F_SOURCE =
	    7, /* grant/deny: where it came from, e.g. "policy.json binding 2 role ops" */
	SHM_F_SESSION = 8, /* grant: session id it is bound to; session: metadata JSON */
	SHM_NFIELDS = 9,
};

#define SHM_FIELD_MAX 1024	       /* longest single field */
#define SHM_REC_MAX 4096	       /* longest record, header included */
#define SHM_TIME_NONE_BEFORE INT64_MIN /* not_before: valid since always */
#define SHM_TIME_NONE_AFTER INT64_MAX  /* not_after: never expires */
#define SHM_U32_NONE UINT32_MAX

/* One record, as given to the writer or copied out for a reader. */
struct shm_entry {
	uint8_t kind;
	uint8_t flags;
	int64_t not_before; /* UTC seconds; SHM_TIME_NONE_BEFORE */
	int64_t not_after;  /* UTC seconds; SHM_TIME_NONE_AFTER */
	uint64_t version;   /* orders changes across hosts */
	uint8_t id[16];	    /* grant_id / session id bytes; zero if none */
	uint32_t rule;	    /* deny rule / binding number in the policy, else SHM_U32_NONE */
	uint32_t uid;	    /* user grants (SHM_FL_UID_CHECKED) and sessions */
	uint32_t pid;	    /* sessions: session leader */
	uint32_t audit;	    /* kernel audit session id; SHM_U32_NONE if unset */
	int64_t created;    /* UTC seconds */
	const char *f[SHM_NFIELDS]; /* not NUL-terminated; NULL/0 = empty */
	uint16_t flen[SHM_NFIELDS];
	uint32_t unit; /* reader/writer handle of the record (set on copy-out) */
};

/* Sets field f of e to p[0..n) (the writer checks n); _str: to the string s, unless NULL. */
void shm_entry_set(struct shm_entry *e, enum shm_field f, const void *p, size_t n);
void shm_entry_set_str(struct shm_entry *e, enum shm_field f, const char *s);

/* Buffer a reader copies one record into; entry fields point into it.  A view opened with
 * SHM_VIEW_PREAD also reads the first bytes of the next record of a chain into it: then
 * unit is that record and have the bytes read so far (the reader's business only). */
struct shm_recbuf {
	_Alignas(8) unsigned char b[SHM_REC_MAX];
	uint32_t unit;
	uint32_t have;
};

/* ---- Reader ---------------------------------------------------------- */

/* A read-only view of the table. Plain struct: may live on the stack. */
#define SHM_VIEW_NAME_MAX 208 /* "/" + 200 name characters + NUL, rounded up */
#define SHM_HOST_NAME_MAX 64  /* with its NUL */
/* The counters a decision needs, inside the caller's read transaction: shm_info_read's
 * fields of the same names, without the rest (a decision reads them on every check). */
struct shm_counters {
	uint64_t generation;
	int64_t heartbeat;
	uint64_t group_mask;
	uint64_t group_deny_mask;
	uint32_t writer_pid;
};

struct shm_view {
	const unsigned char *base; /* the mapping; NULL when opened with SHM_VIEW_PREAD */
	size_t size;
	int fd;		   /* -1 once closed; O_CLOEXEC */
	unsigned flags;	   /* SHM_VIEW_* it was opened with */
	uint64_t open_seq; /* SHM_VIEW_PREAD: the seq read with the header at open; odd: none */
	bool open_ctr_ok;  /* open_ctr is the counter block published with open_seq */
	struct shm_counters open_ctr;
	char name[SHM_VIEW_NAME_MAX]; /* table name, for messages */
	/* the static part of the validated header */
	uint32_t nbuckets;
	uint64_t buckets_off;
	uint64_t arena_off;
	uint64_t arena_units;
	uint32_t unit_size;
	uint64_t capacity;
	int64_t created;
	char host_name[SHM_HOST_NAME_MAX];
	bool crc_hw; /* the CPU has SSE4.2's crc32 (asked once, at open) */
};

/*
 * Opens and maps /dev/shm/NAME read-only.  Checks: NAME is "/" followed by
 * [A-Za-z0-9._-]{1,200}; regular file; owner uid 0 or geteuid(); not group-
 * or world-writable; size matches the header's geometry; magic, version and
 * header CRC.  On failure: PSM_EUNAVAIL (missing, unsafe, corrupt) or
 * PSM_EINVAL (bad name), with a message saying which.
 */
int shm_view_open(struct shm_view *v, const char *name, struct psm_err *err);

/*
 * The same, for a reader that makes one decision and closes again (pam_psm,
 * psm-query check): with SHM_VIEW_PREAD nothing is mapped; every read is a
 * pread(2) of the bytes the lookup needs (header words, one bucket, the
 * records of one chain).  A fresh mapping of a big table costs a page fault
 * (and a page-table page) for every page first touched, and an munmap; a
 * handful of preads costs less than one of those.  Lookups, transactions and
 * checks are the same functions, with the same answers, in both modes.
 */
#define SHM_VIEW_PREAD 0x1u
int shm_view_open_flags(struct shm_view *v, const char *name, unsigned flags, struct psm_err *err);
void shm_view_close(struct shm_view *v);
/*
 * shm_view_open_flags(v, name, SHM_VIEW_PREAD, err) and shm_view_close(v) for such a view,
 * without the mapping code: a program (pam_psm.so) that opens only pread views links no
 * mmap/munmap (-ffunction-sections, --gc-sections).  shm_view_close_pread must only close
 * a view opened with SHM_VIEW_PREAD (it unmaps nothing).
 */
int shm_view_open_pread(struct shm_view *v, const char *name, struct psm_err *err);
void shm_view_close_pread(struct shm_view *v);
static inline bool shm_view_is_open(const struct shm_view *v)
{
	return v->base != NULL || ((v->flags & SHM_VIEW_PREAD) && v->fd >= 0);
}

/* True when psmd has replaced this table by a newer one: close and reopen. */
bool shm_view_retired(const struct shm_view *v);

/*
 * Read transactions.  shm_read_begin() waits (bounded) for an even sequence
 * number; PSM_EUNAVAIL if it never comes (writer died mid-write).  After the
 * reads, shm_read_ok() says whether they were consistent; if not, start over.
 * At most SHM_READ_TRIES attempts before giving up with PSM_EUNAVAIL.
 * A -PSM_EUNAVAIL from shm_iter_next()/shm_scan() inside a transaction is
 * only corruption if shm_read_ok() then says the transaction was consistent;
 * otherwise it was a torn read: start over.  shm_read_txn() is that loop.
 */
#define SHM_READ_TRIES 2000
int shm_read_begin(const struct shm_view *v, uint64_t *seq, struct psm_err *err);
bool shm_read_ok(const struct shm_view *v, uint64_t seq);

/*
 * Runs fn inside a read transaction of v, again while the transaction was
 * not consistent (at most SHM_READ_TRIES times; then PSM_EUNAVAIL), and
 * returns what fn returned in the consistent run.  fn must only read v and
 * may be run several times.
 */
typedef int (*shm_read_fn)(const struct shm_view *v, void *ctx, struct psm_err *err);
int shm_read_txn(const struct shm_view *v, shm_read_fn fn, void *ctx, struct psm_err *err);

/* Header values a reader may use.  shm_info_get() makes its own transaction (it may also
 * be called inside one); PSM_EUNAVAIL if the counters are corrupt or never consistent. */
struct shm_info {
	uint64_t generation; /* bumped on every write batch */
	int64_t heartbeat;   /* UTC seconds of the writer's last heartbeat */
	int64_t created;     /* UTC seconds the table was made */
	uint32_t writer_pid;
	uint64_t records;	  /* live records */
	uint64_t capacity;	  /* records the table was sized for */
	uint64_t arena_used;	  /* bytes of records */
	uint64_t total_size;	  /* bytes of the whole object */
	uint64_t group_mask;	  /* group grants and denies, see shm_seg_bit() */
	uint64_t group_deny_mask; /* group denies alone */
	uint32_t policy_roles, policy_bindings, policy_denies;
	char host_name[SHM_HOST_NAME_MAX]; /* NUL-terminated */
};
int shm_info_get(const struct shm_view *v, struct shm_info *out, struct psm_err *err);
/* The same inside the caller's read transaction (no transaction of its own): for a
 * decision that must see the counters of the very state it reads records from. */
int shm_info_read(const struct shm_view *v, struct shm_info *out, struct psm_err *err);

/* The counters a decision needs (struct shm_counters), inside the caller's read transaction. */
int shm_counters_read(const struct shm_view *v, struct shm_counters *out, struct psm_err *err);

/* Iterates the records of one (kind, key). */
/* SHM_VIEW_PREAD: arena bytes read with a record's head during one read transaction; the
 * chain's next records, and other keys' records looked up in the same transaction, are taken
 * from here when it holds them (a pread of 4 KB costs about what one of 8 bytes does). */
#define SHM_WIN_SIZE 4096u
struct shm_win {
	uint64_t off; /* arena byte offset of b[0] */
	uint32_t len; /* bytes held; 0: empty */
	_Alignas(8) unsigned char b[SHM_WIN_SIZE];
};
struct shm_iter {
	uint8_t kind;
	const char *key;
	size_t keylen;
	uint32_t hash;
	uint32_t cur;	    /* next record unit, SHM_U32_NONE at end */
	uint32_t hops;	    /* bounded: a cycle is corruption */
	struct shm_win win; /* only len is set by shm_iter_init */
};
/* An iterator over (kind, key) with an empty window. */
void shm_iter_init(const struct shm_view *v, struct shm_iter *it, uint8_t kind, const char *key,
		   size_t keylen);
/* The same keeping its window: for the next key of the same read transaction only. */
void shm_iter_key(const struct shm_view *v, struct shm_iter *it, uint8_t kind, const char *key,
		  size_t keylen);
/* shm_iter_next's walk, for a chain with records left. */
int shm_iter_walk(const struct shm_view *v, struct shm_iter *it, struct shm_entry *out,
		  struct shm_recbuf *buf);
/* 1: *out filled (fields point into *buf); 0: no more; PSM_EUNAVAIL (as -PSM_EUNAVAIL): corrupt.
 * The end of the chain is tested here, inline: a decision's last call costs no call. */
static inline int shm_iter_next(const struct shm_view *v, struct shm_iter *it,
				struct shm_entry *out, struct shm_recbuf *buf)
{
	return it->cur == SHM_U32_NONE ? 0 : shm_iter_walk(v, it, out, buf);
}

/* Visits every live record of a kind (0 = all kinds). cb returns 0 to go on, nonzero to stop
 * (that value is returned).  Returns -PSM_EUNAVAIL on corruption (or a torn read: call it
 * inside a transaction, and discard what cb collected when shm_read_ok() says retry).
 * The entry and its fields are valid only during the call. */
typedef int (*shm_scan_cb)(const struct shm_entry *e, void *ctx);
int shm_scan(const struct shm_view *v, uint8_t kind, shm_scan_cb cb, void *ctx);

/*
 * Group fast path: group_mask has bit shm_seg_bit(first segment of pattern)
 * set for every group grant/deny, and bit 63 for patterns whose first
 * segment is "*"; group_deny_mask the same for group denies alone.  A reader
 * skips NSS group lookups when (mask & (shm_seg_bit(first segment of perm) |
 * 1ull<<63)) == 0, with mask = group_deny_mask once the user's own records
 * allow (only a group deny could change that), else group_mask.
 */
uint64_t shm_seg_bit(const char *seg, size_t len);
#define SHM_MASK_ANY (1ull << 63)

/* ---- Writer (psmd only) ------------------------------------------------ */

struct shm_writer;

struct shm_writer_opts {
	const char *name;  /* "/psm" */
	uint64_t capacity; /* records */
	gid_t group;	   /* table group; mode 0640 */
	const char *host_name;
	uint64_t generation; /* first generation (a rebuilt table continues the old count) */
};

/*
 * Creates a new, empty table under a private temporary name (not yet seen by
 * readers).  Fill it, then shm_writer_publish() renames it over NAME
 * atomically and marks the table it replaces as retired.
 */
int shm_writer_create(struct shm_writer **w, const struct shm_writer_opts *o, struct psm_err *err);
int shm_writer_publish(struct shm_writer *w, struct psm_err *err);
/* Unmaps; the published table stays for readers. */
void shm_writer_close(struct shm_writer *w);
/* Unmaps and unlinks an unpublished table (failed build). */
void shm_writer_discard(struct shm_writer *w);

/* Batches: every insert/remove happens between begin and commit (seq odd). */
void shm_writer_begin(struct shm_writer *w);
void shm_writer_commit(struct shm_writer *w);

/* Inserts a copy of *e. PSM_EFULL when there is no room (never evicts); PSM_EINVAL on
 * over-long fields. *unit (may be NULL) gets the record's handle. */
int shm_writer_insert(struct shm_writer *w, const struct shm_entry *e, uint32_t *unit,
		      struct psm_err *err);
/* PSM_OK when *e could be inserted but for room (the PSM_EINVAL checks of insert). */
int shm_writer_check(const struct shm_writer *w, const struct shm_entry *e, struct psm_err *err);
/* Removes the record with handle unit (from insert or a lookup). */
int shm_writer_remove(struct shm_writer *w, uint32_t unit, struct psm_err *err);

/* The writer reads its own table with the same lookup functions as readers, without a
 * transaction (it is the only writer; shm_read_begin() fails while its batch is open). */
const struct shm_view *shm_writer_view(const struct shm_writer *w);

void shm_writer_heartbeat(struct shm_writer *w, int64_t now);
void shm_writer_set_policy_counts(struct shm_writer *w, uint32_t roles, uint32_t bindings,
				  uint32_t denies);
/* Fraction of capacity in use (records or arena, whichever is fuller), 0..1. */
double shm_writer_fill(const struct shm_writer *w);
/* Write batches so far, from the writer's own counters: never reads the mapping. */
uint64_t shm_writer_generation(const struct shm_writer *w);

/* "/dev/shm" + name (+ suffix) into buf; -1 when it does not fit.  name must be valid
 * (every opened view's and writer's is). */
int shm_path(char *buf, size_t n, const char *name, const char *suffix);

/* CRC32C (Castagnoli), hardware-accelerated where the CPU has it. */
uint32_t shm_crc32c(uint32_t crc, const void *data, size_t len);

#endif
