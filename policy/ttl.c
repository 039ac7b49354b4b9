/* SPDX-License-Identifier: MIT */
/* ttl.c - TTL strings ("90", "15m", "1h30m"), their formatting, and ISO 8601 UTC times. */
#include "ttl.h"

#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "psm_str.h"

struct ttl_unit {
	char c;
	int64_t secs;
};

/* Descending: a sum must use them in this order, each at most once. */
static const struct ttl_unit ttl_units[] = {
    {'w', 7 * 86400}, {'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1},
};
#define TTL_NUNITS (sizeof(ttl_units) / sizeof(ttl_units[0]))

static int ttl_unit_index(char c)
{
	size_t i;

	for (i = 0; i < TTL_NUNITS; i++)
		if (ttl_units[i].c == c)
			return (int)i;
	return -1;
}

static int ttl_fail(const char *s, struct psm_err *err, const char *why)
{
	return psm_err_set(err, PSM_EINVAL, "ttl \"%.64s\": %s", s, why);
}

/* A message about character c: printable as 'c', else as '\xNN'. */
static int ttl_fail_char(const char *s, struct psm_err *err, const char *what, char c,
			 const char *tail)
{
	if ((unsigned char)c > 0x20 && (unsigned char)c < 0x7f)
		return psm_err_set(err, PSM_EINVAL, "ttl \"%.64s\": %s '%c'%s", s, what, c, tail);
	return psm_err_set(err, PSM_EINVAL, "ttl \"%.64s\": %s '\\x%02x'%s", s, what,
			   (unsigned char)c, tail);
}

/* Reads decimal digits at *p into *v; false on overflow past TTL_MAX_SECONDS. */
static bool ttl_number(const char **p, int64_t *v)
{
	*v = 0;
	while (**p >= '0' && **p <= '9') {
		*v = *v * 10 + (**p - '0');
		if (*v > TTL_MAX_SECONDS)
			return false;
		(*p)++;
	}
	return true;
}

/* One "<number><unit>" term (or a bare number when it is the whole string). */
static int ttl_term(const char *s, const char **p, int *last, int64_t *total, struct psm_err *err)
{
	const char *start = *p;
	int64_t v;
	size_t n;
	int u;

	if (**p < '0' || **p > '9')
		return ttl_fail_char(s, err, "expected a number before", **p, "");
	if (!ttl_number(p, &v))
		return ttl_fail(s, err, "too large (max 100 years)");
	if (**p == '\0') {
		if (start != s)
			return ttl_fail(s, err, "number without a unit at the end");
		*total = v;
		return PSM_OK;
	}
	n = 0;
	while (psm_is_alpha((unsigned char)(*p)[n]))
		n++;
	u = n == 1 ? ttl_unit_index(**p) : -1;
	if (n == 0)
		return ttl_fail_char(s, err, "unexpected", **p, " after a number");
	if (u < 0)
		return psm_err_set(err, PSM_EINVAL,
				   "ttl \"%.64s\": unknown unit '%.*s' (use s, "
				   "m, h, d, w)",
				   s, (int)(n > 16 ? 16 : n), *p);
	if (u <= *last)
		return ttl_fail_char(s, err, "unit", **p,
				     " out of order (use w, d, h, m, s "
				     "in that order, each once)");
	*last = u;
	(*p)++;
	if (v > TTL_MAX_SECONDS / ttl_units[u].secs)
		return ttl_fail(s, err, "too large (max 100 years)");
	*total += v * ttl_units[u].secs;
	if (*total > TTL_MAX_SECONDS)
		return ttl_fail(s, err, "too large (max 100 years)");
	return PSM_OK;
}

int ttl_parse(const char *s, int64_t *seconds, struct psm_err *err)
{
	const char *p = s;
	int64_t total = 0;
	int last = -1, rc;

	if (s == NULL || *s == '\0')
		return psm_err_set(err, PSM_EINVAL, "ttl \"\": empty");
	if (*s == '-')
		return ttl_fail(s, err, "must be positive");
	if (psm_has_any(s, " \t\n\r\v\f"))
		return ttl_fail(s, err, "no spaces allowed (write e.g. \"1h30m\")");
	while (*p != '\0') {
		rc = ttl_term(s, &p, &last, &total, err);
		if (rc != PSM_OK)
			return rc;
	}
	if (total <= 0)
		return ttl_fail(s, err, "must be positive");
	*seconds = total;
	return PSM_OK;
}

void ttl_format(int64_t seconds, char *buf, size_t n)
{
	size_t i, o = 0;

	if (n == 0)
		return;
	buf[0] = '\0';
	if (seconds <= 0) {
		psm_fmt(buf, n, "0s");
		return;
	}
	for (i = 0; i < TTL_NUNITS && o < n; i++) {
		int64_t q = seconds / ttl_units[i].secs;
		int w;

		if (q == 0)
			continue;
		seconds -= q * ttl_units[i].secs;
		w = psm_fmt(buf + o, n - o, "%lld%c", (long long)q, ttl_units[i].c);
		if (w < 0)
			return;
		o += (size_t)w;
	}
}

struct time_civil {
	long long year;
	int mon, day, sec; /* sec: of the day */
};

/* UTC date of t, the proleptic Gregorian calendar (gmtime's, without its libc import);
 * false where gmtime fails or its year overflows (beyond an int). */
static bool time_civil(int64_t t, struct time_civil *c)
{
	int64_t days = t / 86400, z, era, doe, yoe, doy, mp;

	c->sec = (int)(t % 86400);
	if (c->sec < 0) {
		c->sec += 86400;
		days--;
	}
	z = days + 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	c->day = (int)(doy - (153 * mp + 2) / 5 + 1);
	c->mon = (int)(mp < 10 ? mp + 3 : mp - 9);
	c->year = yoe + era * 400 + (c->mon <= 2);
	return c->year - 1900 >= INT_MIN && c->year <= INT_MAX;
}

void time_format_utc(int64_t t, char *buf, size_t n)
{
	struct time_civil c;

	if (n == 0)
		return;
	if (t == INT64_MAX) {
		psm_fmt(buf, n, "never");
		return;
	}
	if (t == INT64_MIN) {
		psm_fmt(buf, n, "always");
		return;
	}
	if (!time_civil(t, &c) ||
	    psm_fmt(buf, n, "%0*lld-%02d-%02dT%02d:%02d:%02dZ", c.year < 0 ? 5 : 4, c.year, c.mon,
		    c.day, c.sec / 3600, c.sec / 60 % 60, c.sec % 60) >= (int)n)
		psm_fmt(buf, n, "?");
}

/* The UTC seconds of now (CLOCK_REALTIME; time() is an IFUNC the module need not bind). */
int64_t time_now_utc(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

/* Reads exactly n digits at *p. */
static bool time_digits(const char **p, int n, int *v)
{
	*v = 0;
	while (n-- > 0) {
		if (**p < '0' || **p > '9')
			return false;
		*v = *v * 10 + (**p - '0');
		(*p)++;
	}
	return true;
}

static bool time_lit(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

/* "YYYY-MM-DD" then optionally "THH:MM[:SS]" and a UTC zone. */
static bool time_fields(const char *s, struct tm *tm)
{
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, sec = 0;

	if (!time_digits(&p, 4, &y) || !time_lit(&p, '-') || !time_digits(&p, 2, &mo) ||
	    !time_lit(&p, '-') || !time_digits(&p, 2, &d))
		return false;
	if (*p != '\0') {
		if (!time_lit(&p, 'T') || !time_digits(&p, 2, &h) || !time_lit(&p, ':') ||
		    !time_digits(&p, 2, &mi))
			return false;
		if (time_lit(&p, ':') && !time_digits(&p, 2, &sec))
			return false;
		if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0)
			return false;
	}
	memset(tm, 0, sizeof(*tm));
	tm->tm_year = y - 1900;
	tm->tm_mon = mo - 1;
	tm->tm_mday = d;
	tm->tm_hour = h;
	tm->tm_min = mi;
	tm->tm_sec = sec;
	return mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59 && sec <= 59;
}

int time_parse_utc(const char *s, int64_t *t, struct psm_err *err)
{
	struct tm tm, back;
	time_t v;

	if (s == NULL || !time_fields(s, &tm))
		return psm_err_set(err, PSM_EINVAL,
				   "time \"%.64s\": expected "
				   "YYYY-MM-DDTHH:MM[:SS]Z or YYYY-MM-DD (UTC)",
				   s ? s : "");
	back = tm;
	v = timegm(&tm);
	if (tm.tm_mday != back.tm_mday || tm.tm_mon != back.tm_mon)
		return psm_err_set(err, PSM_EINVAL, "time \"%.64s\": no such date", s);
	*t = (int64_t)v;
	return PSM_OK;
}
