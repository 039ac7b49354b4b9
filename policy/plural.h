/* SPDX-License-Identifier: MIT */
/* plural.h - a count's noun, singular or plural, for every line a person reads. */
#ifndef PSM_PLURAL_H
#define PSM_PLURAL_H

/*
 * printf("%llu %s", n, plural(n, "deny rule", "deny rules")): "1 deny rule", "0 deny rules",
 * "2 deny rules".  Both forms are given (entry/entries), so no noun is spelled by rule.
 */
static inline const char *plural(unsigned long long n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

#endif
