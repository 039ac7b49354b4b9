/* SPDX-License-Identifier: MIT */
/* psmctl_table.c - aligned columns (like ss and systemctl list-*) and the text of reply values. */
#include "psmctl.h"

#include <stdlib.h>
#include <string.h>

#include "ttl.h"

void ctl_table_init(struct ctl_table *t, int ncols, const char *const *head)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	t->head = head;
}

/* A copy that shows control characters (a terminal's escape sequences) as '?'. */
static char *ctl_clean(const char *s)
{
	char *d = strdup(s != NULL ? s : "-"), *p;

	for (p = d; p != NULL && *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return d;
}

int ctl_table_add(struct ctl_table *t, const char *const *cells)
{
	size_t n = (size_t)t->ncols, i;

	if (t->nrows == t->cap) {
		size_t cap = t->cap != 0 ? t->cap * 2 : 16;
		char **c = realloc(t->cells, cap * n * sizeof(char *));

		if (c == NULL)
			return PSM_ENOMEM;
		t->cells = c;
		t->cap = cap;
	}
	for (i = 0; i < n; i++)
		t->cells[t->nrows * n + i] = ctl_clean(cells[i]);
	for (i = 0; i < n; i++)
		if (t->cells[t->nrows * n + i] == NULL)
			return PSM_ENOMEM;
	t->nrows++;
	return PSM_OK;
}

static void ctl_table_row(const struct ctl_table *t, const char *const *row, const int *w, FILE *f)
{
	int i;

	for (i = 0; i < t->ncols; i++) {
		if (i + 1 < t->ncols)
			fprintf(f, "%-*s  ", w[i], row[i]);
		else
			fprintf(f, "%s\n", row[i]);
	}
}

void ctl_table_print(const struct ctl_table *t, FILE *f)
{
	int w[16] = {0}, i;
	size_t r, len;

	for (i = 0; i < t->ncols && i < 16; i++) {
		w[i] = (int)strlen(t->head[i]);
		for (r = 0; r < t->nrows; r++) {
			len = strlen(t->cells[r * (size_t)t->ncols + (size_t)i]);
			if (len > (size_t)w[i])
				w[i] = (int)len;
		}
	}
	ctl_table_row(t, t->head, w, f);
	for (r = 0; r < t->nrows; r++)
		ctl_table_row(t, (const char *const *)t->cells + r * (size_t)t->ncols, w, f);
}

void ctl_table_free(struct ctl_table *t)
{
	size_t i;

	for (i = 0; i < t->nrows * (size_t)t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

/* "1h59m": the two largest units, rounded down. */
static void ctl_span(int64_t s, char *buf, size_t n)
{
	if (s >= 7 * 86400)
		s -= s % 86400;
	else if (s >= 86400)
		s -= s % 3600;
	else if (s >= 3600)
		s -= s % 60;
	ttl_format(s, buf, n);
}

bool ctl_int(const cJSON *v, int64_t *out)
{
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= -9e15 && v->valuedouble <= 9e15))
		return false;
	*out = (int64_t)v->valuedouble;
	return (double)*out == v->valuedouble;
}

void ctl_time_text(const cJSON *v, int64_t now, bool expiry, char *buf, size_t n)
{
	char iso[32], span[32];
	int64_t t;

	if (!ctl_int(v, &t)) {
		snprintf(buf, n, "%s", expiry ? "never" : "-");
		return;
	}
	time_format_utc(t, iso, sizeof(iso));
	ctl_span(t > now ? t - now : now - t, span, sizeof(span));
	if (t > now)
		snprintf(buf, n, "%s (in %s)", iso, span);
	else
		snprintf(buf, n, "%s (%s%s ago)", iso, expiry ? "expired " : "", span);
}

void ctl_value_text(const cJSON *v, char *buf, size_t n)
{
	char *s;
	int64_t i;

	if (v == NULL || cJSON_IsNull(v)) {
		snprintf(buf, n, "-");
	} else if (cJSON_IsString(v)) {
		snprintf(buf, n, "%s", v->valuestring);
	} else if (cJSON_IsBool(v)) {
		snprintf(buf, n, "%s", cJSON_IsTrue(v) ? "true" : "false");
	} else if (ctl_int(v, &i)) {
		snprintf(buf, n, "%lld", (long long)i);
	} else if (cJSON_IsNumber(v)) {
		snprintf(buf, n, "%g", v->valuedouble);
	} else {
		s = cJSON_PrintUnformatted(v);
		snprintf(buf, n, "%s", s != NULL ? s : "?");
		free(s);
	}
}

void ctl_count_text(int64_t n, char *buf, size_t size)
{
	char digits[32];
	size_t len, i, o = 0;

	if (n < 0) {
		snprintf(buf, size, "-");
		return;
	}
	len = (size_t)snprintf(digits, sizeof(digits), "%lld", (long long)n);
	for (i = 0; i < len && o + 2 < size; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
}

void ctl_size_text(int64_t n, char *buf, size_t size)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
	double v = (double)n;
	int u = -1;

	if (n < 0) {
		snprintf(buf, size, "-");
		return;
	}
	if (n < 1024) {
		snprintf(buf, size, "%lld %s", (long long)n,
			 plural((unsigned long long)n, "byte", "bytes"));
		return;
	}
	while (v >= 1024 && u < 3) {
		v /= 1024;
		u++;
	}
	snprintf(buf, size, "%.1f %s", v, units[u]);
}

void ctl_duration_text(int64_t s, char *buf, size_t size)
{
	static const int64_t len[] = {86400, 3600, 60, 1};
	static const char *const unit[] = {"d", "h", "min", "s"};
	int i;

	if (s < 0) {
		snprintf(buf, size, "-");
		return;
	}
	for (i = 0; i < 3 && s < len[i]; i++)
		;
	if (i == 3 || s % len[i] / len[i + 1] == 0)
		snprintf(buf, size, "%lld %s", (long long)(s / len[i]), unit[i]);
	else
		snprintf(buf, size, "%lld %s %lld %s", (long long)(s / len[i]), unit[i],
			 (long long)(s % len[i] / len[i + 1]), unit[i + 1]);
}
