/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image-policy.h"
#include "macro.h"
#include "portable-error.h"
#include "strv.h"

const ImagePolicy image_policy_allow = { .default_flags = PARTITION_POLICY_OPEN };
const ImagePolicy image_policy_ignore = { .default_flags = PARTITION_POLICY_IGNORE };
const ImagePolicy image_policy_deny = { .default_flags = PARTITION_POLICY_ABSENT };

/* In the order upstream prints them. */
static const struct {
        const char *name;
        PartitionPolicyFlags flag;
} flag_names[] = {
        { "verity", PARTITION_POLICY_VERITY },
        { "signed", PARTITION_POLICY_SIGNED },
        { "encrypted", PARTITION_POLICY_ENCRYPTED },
        { "encryptedwithintegrity", PARTITION_POLICY_ENCRYPTEDWITHINTEGRITY },
        { "unprotected", PARTITION_POLICY_UNPROTECTED },
        { "unused", PARTITION_POLICY_UNUSED },
        { "absent", PARTITION_POLICY_ABSENT },
        { "read-only-on", PARTITION_POLICY_READ_ONLY_ON },
        { "read-only-off", PARTITION_POLICY_READ_ONLY_OFF },
        { "growfs-off", PARTITION_POLICY_GROWFS_OFF },
        { "growfs-on", PARTITION_POLICY_GROWFS_ON },
        { "btrfs", PARTITION_POLICY_BTRFS },
        { "erofs", PARTITION_POLICY_EROFS },
        { "ext4", PARTITION_POLICY_EXT4 },
        { "f2fs", PARTITION_POLICY_F2FS },
        { "squashfs", PARTITION_POLICY_SQUASHFS },
        { "vfat", PARTITION_POLICY_VFAT },
        { "xfs", PARTITION_POLICY_XFS },
};

static PartitionPolicyFlags flag_from_name(const char *s) {
        if (streq(s, "open"))
                return PARTITION_POLICY_OPEN;
        if (streq(s, "ignore"))
                return PARTITION_POLICY_IGNORE;
        for (size_t i = 0; i < ELEMENTSOF(flag_names); i++)
                if (streq(s, flag_names[i].name))
                        return flag_names[i].flag;
        return _PARTITION_POLICY_FLAGS_INVALID;
}

static PartitionPolicyFlags fstype_flag(const char *fstype) {
        if (!fstype)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(flag_names); i++)
                if ((flag_names[i].flag & _PARTITION_POLICY_FSTYPE_MASK) && streq(fstype, flag_names[i].name))
                        return flag_names[i].flag;
        return 0;
}

/* Copies [s, s+n) with surrounding whitespace removed. */
static char *strip_dup(const char *s, size_t n) {
        while (n > 0 && strchr(" \t\n", *s))
                s++, n--;
        while (n > 0 && strchr(" \t\n", s[n - 1]))
                n--;
        return strndup(s, n);
}

int partition_policy_flags_from_string(const char *s, PartitionPolicyFlags *ret) {
        PartitionPolicyFlags flags = 0;
        _cleanup_free_ char *all = strip_dup(s, strlen(s));

        if (!all)
                return -ENOMEM;
        if (isempty(all) || streq(all, "-")) {
                *ret = 0;
                return 0;
        }
        for (const char *p = all;;) {
                size_t n = strcspn(p, "+");
                _cleanup_free_ char *word = strip_dup(p, n);
                PartitionPolicyFlags f;

                if (!word)
                        return -ENOMEM;
                f = flag_from_name(word);
                if (f < 0)
                        return -EBADRQC;
                flags |= f;
                if (p[n] == '\0')
                        break;
                p += n + 1;
        }
        *ret = flags;
        return 0;
}

int partition_policy_flags_to_string(PartitionPolicyFlags f, bool simplify, char **ret) {
        _cleanup_strv_free_ char **l = NULL;
        PartitionPolicyFlags skip = 0;
        char *s;
        int r;

        if (f < 0)
                return -EINVAL;

        if (simplify && (f & _PARTITION_POLICY_USE_MASK) == PARTITION_POLICY_OPEN) {
                r = strv_extend(&l, "open");
                skip |= _PARTITION_POLICY_USE_MASK;
        } else if (simplify && (f & _PARTITION_POLICY_USE_MASK) == PARTITION_POLICY_IGNORE) {
                r = strv_extend(&l, "ignore");
                skip |= _PARTITION_POLICY_USE_MASK;
        } else
                r = 0;
        if (r < 0)
                return r;
        /* Both settings of a GPT flag allowed is the same as saying nothing about it. */
        if (simplify && FLAGS_SET(f, _PARTITION_POLICY_READ_ONLY_MASK))
                skip |= _PARTITION_POLICY_READ_ONLY_MASK;
        if (simplify && FLAGS_SET(f, _PARTITION_POLICY_GROWFS_MASK))
                skip |= _PARTITION_POLICY_GROWFS_MASK;

        for (size_t i = 0; i < ELEMENTSOF(flag_names); i++)
                if ((f & flag_names[i].flag) && !(skip & flag_names[i].flag)) {
                        r = strv_extend(&l, flag_names[i].name);
                        if (r < 0)
                                return r;
                }

        s = l ? strv_join(l, "+") : strdup("-");
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

ImagePolicy *image_policy_free(ImagePolicy *p) {
        return mfree(p);
}

static int parse_rule(const char *policy, const char *rule, size_t n, ImagePolicy *p, bool *default_seen,
                      sd_bus_error *reterr) {
        _cleanup_free_ char *text = strndup(rule, n), *name = NULL;
        PartitionPolicyFlags flags;
        PartitionDesignator d;
        char *eq;
        int r;

        if (!text)
                return -ENOMEM;
        eq = strchr(text, '=');
        if (!eq)
                return portable_error(reterr, EINVAL, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image policy '%s': rule '%s' lacks '=', expected DESIGNATOR=FLAGS.", policy, text);
        name = strip_dup(text, (size_t) (eq - text));
        if (!name)
                return -ENOMEM;

        r = partition_policy_flags_from_string(eq + 1, &flags);
        if (r == -EBADRQC)
                return portable_error(reterr, r, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image policy '%s': unknown flag in '%s'.", policy, text);
        if (r < 0)
                return r;

        if (isempty(name)) {
                if (*default_seen)
                        return portable_error(reterr, ENOTUNIQ, SD_BUS_ERROR_INVALID_ARGS,
                                              "Image policy '%s': the default rule is given twice.", policy);
                *default_seen = true;
                p->default_flags = flags;
                return 0;
        }

        d = partition_designator_from_string(name);
        if (d < 0)
                return portable_error(reterr, EBADSLT, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image policy '%s': unknown partition designator '%s'.", policy, name);
        if (p->has_rule[d])
                return portable_error(reterr, ENOTUNIQ, SD_BUS_ERROR_INVALID_ARGS,
                                      "Image policy '%s': more than one rule for '%s'.", policy, name);
        p->has_rule[d] = true;
        p->rules[d] = flags;
        return 0;
}

int image_policy_from_string(const char *s, ImagePolicy **ret, sd_bus_error *reterr) {
        _cleanup_(image_policy_freep) ImagePolicy *p = NULL;
        _cleanup_free_ char *t = NULL;
        bool default_seen = false;
        int r;

        t = strip_dup(s, strlen(s));
        p = calloc(1, sizeof(ImagePolicy));
        if (!t || !p)
                return -ENOMEM;

        if (isempty(t) || streq(t, "-"))
                *p = image_policy_ignore;
        else if (streq(t, "*"))
                *p = image_policy_allow;
        else if (streq(t, "~"))
                *p = image_policy_deny;
        else {
                p->default_flags = PARTITION_POLICY_IGNORE;
                for (const char *q = t;;) {
                        size_t n = strcspn(q, ":");

                        /* A trailing ':' ends the list; an empty rule anywhere else is an error. */
                        if (n == 0 && !(q[0] == '\0' && q != t))
                                return portable_error(reterr, EINVAL, SD_BUS_ERROR_INVALID_ARGS,
                                                      "Image policy '%s': empty rule.", s);
                        if (n > 0) {
                                r = parse_rule(s, q, n, p, &default_seen, reterr);
                                if (r < 0)
                                        return r;
                        }
                        if (q[n] == '\0')
                                break;
                        q += n + 1;
                }
        }

        *ret = TAKE_PTR(p);
        return 0;
}

static bool is_verity(PartitionDesignator d) {
        return partition_verity_to_data(d) >= 0 || partition_verity_sig_to_data(d) >= 0;
}

/* Fills in the groups a rule leaves open and drops what cannot apply to d. */
static PartitionPolicyFlags normalize(PartitionPolicyFlags f, PartitionDesignator d) {
        if ((f & _PARTITION_POLICY_USE_MASK) == 0)
                f |= PARTITION_POLICY_OPEN;
        if ((f & _PARTITION_POLICY_READ_ONLY_MASK) == 0)
                f |= _PARTITION_POLICY_READ_ONLY_MASK;
        if ((f & _PARTITION_POLICY_GROWFS_MASK) == 0)
                f |= _PARTITION_POLICY_GROWFS_MASK;

        if (d < 0) /* the default, before it is applied to a designator */
                return f;

        /* A verity or signature partition is the protection; it has none of its own. */
        if (is_verity(d))
                f &= ~(PARTITION_POLICY_VERITY | PARTITION_POLICY_SIGNED | PARTITION_POLICY_ENCRYPTED |
                       PARTITION_POLICY_ENCRYPTEDWITHINTEGRITY);
        /* Only root and /usr can have verity. */
        if (partition_verity_of(d) < 0)
                f &= ~(PARTITION_POLICY_VERITY | PARTITION_POLICY_SIGNED);
        /* Flags of a partition that must not exist do not matter. */
        if ((f & _PARTITION_POLICY_USE_MASK) == PARTITION_POLICY_ABSENT)
                f &= ~_PARTITION_POLICY_PFLAGS_MASK;
        return f;
}

/* The rule for d, derived for verity partitions from their data partition; -1 if there is none. */
static PartitionPolicyFlags rule_for(const ImagePolicy *p, PartitionDesignator d) {
        PartitionDesignator data;
        PartitionPolicyFlags f;

        if (p->has_rule[d])
                return normalize(p->rules[d], d);

        data = partition_verity_to_data(d);
        if (data < 0)
                data = partition_verity_sig_to_data(d);
        if (data < 0)
                return _PARTITION_POLICY_FLAGS_INVALID;

        f = rule_for(p, data);
        if (f < 0)
                return f;
        /* A hash tree is needed where the data must have verity; a signature where it must be signed. */
        if (!(f & (partition_verity_to_data(d) >= 0 ? PARTITION_POLICY_VERITY | PARTITION_POLICY_SIGNED
                                                    : PARTITION_POLICY_SIGNED)))
                return _PARTITION_POLICY_FLAGS_INVALID;
        return normalize(PARTITION_POLICY_UNPROTECTED | (f & (PARTITION_POLICY_UNUSED | PARTITION_POLICY_ABSENT)) |
                         (f & _PARTITION_POLICY_PFLAGS_MASK), d);
}

PartitionPolicyFlags image_policy_get(const ImagePolicy *p, PartitionDesignator d) {
        PartitionPolicyFlags f;

        if (d < 0 || d >= _PARTITION_DESIGNATOR_MAX)
                return _PARTITION_POLICY_FLAGS_INVALID;
        if (!p)
                return normalize(PARTITION_POLICY_OPEN, d);
        f = rule_for(p, d);
        return f >= 0 ? f : normalize(p->default_flags, d);
}

static bool all_match(const ImagePolicy *p, PartitionPolicyFlags expected) {
        if (normalize(p->default_flags, _PARTITION_DESIGNATOR_INVALID) !=
            normalize(expected, _PARTITION_DESIGNATOR_INVALID))
                return false;
        for (PartitionDesignator d = 0; d < _PARTITION_DESIGNATOR_MAX; d++)
                if (image_policy_get(p, d) != normalize(expected, d))
                        return false;
        return true;
}

bool image_policy_equivalent(const ImagePolicy *a, const ImagePolicy *b) {
        const ImagePolicy *pa = a ?: &image_policy_allow, *pb = b ?: &image_policy_allow;

        if (normalize(pa->default_flags, _PARTITION_DESIGNATOR_INVALID) !=
            normalize(pb->default_flags, _PARTITION_DESIGNATOR_INVALID))
                return false;
        for (PartitionDesignator d = 0; d < _PARTITION_DESIGNATOR_MAX; d++)
                if (image_policy_get(pa, d) != image_policy_get(pb, d))
                        return false;
        return true;
}

static int append(char **s, const char *name, PartitionPolicyFlags f, bool simplify) {
        _cleanup_free_ char *flags = NULL;
        char *n;
        int r;

        r = partition_policy_flags_to_string(f, simplify, &flags);
        if (r < 0)
                return r;
        if (asprintf(&n, "%s%s%s=%s", strempty(*s), isempty(*s) ? "" : ":", name, flags) < 0)
                return -ENOMEM;
        free(*s);
        *s = n;
        return 0;
}

int image_policy_to_string(const ImagePolicy *p, bool simplify, char **ret) {
        _cleanup_free_ char *s = NULL;
        int r;

        if (!p)
                p = &image_policy_allow;

        if (simplify) {
                const char *fixed = all_match(p, PARTITION_POLICY_OPEN) ? "*"
                        : all_match(p, PARTITION_POLICY_IGNORE) ? "-"
                        : all_match(p, PARTITION_POLICY_ABSENT) ? "~"
                        : NULL;

                if (fixed) {
                        *ret = strdup(fixed);
                        return *ret ? 0 : -ENOMEM;
                }
        }

        for (PartitionDesignator d = 0; d < _PARTITION_DESIGNATOR_MAX; d++) {
                if (!p->has_rule[d])
                        continue;
                /* A rule that says what the default says anyway is noise. */
                if (simplify && normalize(p->rules[d], d) == normalize(p->default_flags, d))
                        continue;
                r = append(&s, partition_designator_to_string(d), p->rules[d], simplify);
                if (r < 0)
                        return r;
        }

        if (!simplify || normalize(p->default_flags, _PARTITION_DESIGNATOR_INVALID) !=
                                 normalize(PARTITION_POLICY_IGNORE, _PARTITION_DESIGNATOR_INVALID)) {
                r = append(&s, "", p->default_flags, simplify);
                if (r < 0)
                        return r;
        }

        *ret = s ? TAKE_PTR(s) : strdup("-");
        return *ret ? 0 : -ENOMEM;
}

/* The protection levels a partition as found qualifies for. */
static PartitionPolicyFlags found_flags(const DissectedImage *m, PartitionDesignator d) {
        const DissectedPartition *p = m->partitions + d;

        /* On a naked image, the hash tree and signature sidecars stand in for these partitions. */
        if (!m->partitioned && partition_verity_to_data(d) >= 0 &&
            m->partitions[partition_verity_to_data(d)].protection >= PARTITION_VERITY)
                return PARTITION_POLICY_UNPROTECTED;
        if (!m->partitioned && partition_verity_sig_to_data(d) >= 0 &&
            m->partitions[partition_verity_sig_to_data(d)].has_signature)
                return PARTITION_POLICY_UNPROTECTED;

        if (!p->found)
                return p->ignored ? PARTITION_POLICY_UNUSED : PARTITION_POLICY_ABSENT;
        if (partition_verity_of(d) >= 0)
                switch (p->protection) {
                case PARTITION_SIGNED:
                        return PARTITION_POLICY_SIGNED | PARTITION_POLICY_VERITY | PARTITION_POLICY_UNPROTECTED;
                case PARTITION_VERITY:
                        return PARTITION_POLICY_VERITY | PARTITION_POLICY_UNPROTECTED;
                default:
                        return PARTITION_POLICY_UNPROTECTED;
                }
        if (streq_ptr(p->fstype, "crypto_LUKS"))
                return PARTITION_POLICY_ENCRYPTED;
        return PARTITION_POLICY_UNPROTECTED;
}

static const char *describe_found(const DissectedImage *m, PartitionDesignator d) {
        const DissectedPartition *p = m->partitions + d;

        if (!p->found)
                return p->ignored ? "present but left unused" : "absent";
        if (partition_verity_of(d) < 0)
                return streq_ptr(p->fstype, "crypto_LUKS") ? "encrypted" : "present";
        switch (p->protection) {
        case PARTITION_SIGNED:
                return "verity-protected and signed by a trusted key";
        case PARTITION_VERITY:
                return p->has_signature ? "verity-protected, but its signature is not trusted"
                                        : "verity-protected but not signed";
        default:
                return "not protected by verity";
        }
}

/* "root=signed" for an explicit rule, "=verity+absent (the default)" or "root-verity (following
 * root=verity)" otherwise. */
static char *describe_rule(const ImagePolicy *p, PartitionDesignator d) {
        _cleanup_free_ char *flags = NULL;
        PartitionDesignator data = partition_verity_to_data(d) >= 0 ? partition_verity_to_data(d)
                                                                    : partition_verity_sig_to_data(d);
        char *s = NULL;

        if (!p)
                return strdup("no policy");
        if (p->has_rule[d]) {
                if (partition_policy_flags_to_string(p->rules[d], true, &flags) < 0 ||
                    asprintf(&s, "'%s=%s'", partition_designator_to_string(d), flags) < 0)
                        return NULL;
        } else if (data >= 0 && rule_for(p, d) >= 0) {
                if (partition_policy_flags_to_string(p->rules[data], true, &flags) < 0 ||
                    asprintf(&s, "'%s=%s' (which %s follows)", partition_designator_to_string(data), flags,
                             partition_designator_to_string(d)) < 0)
                        return NULL;
        } else if (partition_policy_flags_to_string(p->default_flags, true, &flags) < 0 ||
                   asprintf(&s, "'=%s' (the default)", flags) < 0)
                return NULL;
        return s;
}

static int refuse(const ImagePolicy *p, const DissectedImage *m, PartitionDesignator d, const char *what,
                  sd_bus_error *reterr) {
        _cleanup_free_ char *rule = describe_rule(p, d);

        return portable_error(reterr, ERFKILL, NULL,
                              "Image '%s': partition '%s' is %s, which the image policy rule %s does not allow, "
                              "refusing.", m->name, partition_designator_to_string(d), what, strna(rule));
}

static void drop(DissectedImage *m, PartitionDesignator d) {
        DissectedPartition *p = m->partitions + d;

        if (!p->found)
                return;
        free(p->fstype);
        free(p->label);
        free(p->uuid);
        free(p->type_uuid);
        *p = (DissectedPartition) { .architecture = _ARCHITECTURE_INVALID, .ignored = true };
}

int image_policy_check(const ImagePolicy *p, DissectedImage *m, sd_bus_error *reterr) {
        bool had_data = m->partitions[PARTITION_ROOT].found || m->partitions[PARTITION_USR].found;

        /* First what the policy says not to use at all: nothing below may depend on it. */
        for (PartitionDesignator d = 0; d < _PARTITION_DESIGNATOR_MAX; d++) {
                PartitionPolicyFlags f = image_policy_get(p, d) & _PARTITION_POLICY_USE_MASK;

                if (!m->partitions[d].found)
                        continue;
                if ((f & ~PARTITION_POLICY_ABSENT) == PARTITION_POLICY_UNUSED) {
                        drop(m, d);
                        if (partition_verity_of(d) >= 0) {
                                drop(m, partition_verity_of(d));
                                drop(m, partition_verity_sig_of(d));
                        }
                }
        }
        if (had_data && !m->partitions[PARTITION_ROOT].found && !m->partitions[PARTITION_USR].found)
                return portable_error(reterr, ENXIO, NULL,
                                      "Image '%s': the image policy leaves neither the root nor the /usr partition "
                                      "to use, refusing.", m->name);

        for (PartitionDesignator d = 0; d < _PARTITION_DESIGNATOR_MAX; d++) {
                const DissectedPartition *part = m->partitions + d;
                PartitionPolicyFlags f = image_policy_get(p, d);

                if (part->found && (f & _PARTITION_POLICY_USE_MASK) == PARTITION_POLICY_ABSENT)
                        return refuse(p, m, d, "present", reterr);
                if (!(found_flags(m, d) & f))
                        return refuse(p, m, d, describe_found(m, d), reterr);
                if (!part->found)
                        continue;

                /* GPT flags exist only on partitioned images. */
                if (m->partitioned) {
                        bool ro = FLAGS_SET(part->gpt_flags, GPT_FLAG_READ_ONLY),
                             growfs = FLAGS_SET(part->gpt_flags, GPT_FLAG_GROWFS);

                        if (!(f & (ro ? PARTITION_POLICY_READ_ONLY_ON : PARTITION_POLICY_READ_ONLY_OFF)))
                                return refuse(p, m, d, ro ? "marked read-only" : "not marked read-only", reterr);
                        if (!(f & (growfs ? PARTITION_POLICY_GROWFS_ON : PARTITION_POLICY_GROWFS_OFF)))
                                return refuse(p, m, d, growfs ? "marked growfs" : "not marked growfs", reterr);
                }

                /* A rule naming file systems allows only those; verity data has none. */
                if ((f & _PARTITION_POLICY_FSTYPE_MASK) && !is_verity(d) && !(f & fstype_flag(part->fstype))) {
                        _cleanup_free_ char *what = NULL;

                        if (asprintf(&what, "a '%s' file system", part->fstype ?: "unknown") < 0)
                                return -ENOMEM;
                        return refuse(p, m, d, what, reterr);
                }
        }
        return 0;
}

int image_policy_pin(const DissectedImage *m, ImagePolicy **ret) {
        _cleanup_(image_policy_freep) ImagePolicy *p = calloc(1, sizeof(ImagePolicy));

        if (!p)
                return -ENOMEM;
        p->default_flags = PARTITION_POLICY_ABSENT;

        for (PartitionDesignator d = 0; d < _PARTITION_DESIGNATOR_MAX; d++) {
                const DissectedPartition *part = m->partitions + d;
                PartitionPolicyFlags f = 0;

                if (!part->found) {
                        /* Unused ones may stay; everything else must not appear later. */
                        p->has_rule[d] = !is_verity(d);
                        p->rules[d] = part->ignored ? PARTITION_POLICY_IGNORE : PARTITION_POLICY_ABSENT;
                        continue;
                }
                if (is_verity(d))
                        continue; /* they follow their data partition */

                if (part->protection == PARTITION_SIGNED)
                        f |= PARTITION_POLICY_SIGNED;
                else if (part->protection == PARTITION_VERITY)
                        f |= PARTITION_POLICY_VERITY;
                else if (streq_ptr(part->fstype, "crypto_LUKS"))
                        f |= PARTITION_POLICY_ENCRYPTED;
                f |= fstype_flag(part->fstype);

                p->has_rule[d] = true;
                p->rules[d] = f;
        }

        *ret = TAKE_PTR(p);
        return 0;
}

/* What either side allows: groups left open (all set, or for file systems none set) stay open. */
static PartitionPolicyFlags union_flags(PartitionPolicyFlags a, PartitionPolicyFlags b) {
        PartitionPolicyFlags fs_a = a & _PARTITION_POLICY_FSTYPE_MASK, fs_b = b & _PARTITION_POLICY_FSTYPE_MASK;
        PartitionPolicyFlags u = (a | b) & ~_PARTITION_POLICY_FSTYPE_MASK;

        if (fs_a != 0 && fs_b != 0)
                u |= fs_a | fs_b;
        if (FLAGS_SET(u, _PARTITION_POLICY_USE_MASK))
                u &= ~_PARTITION_POLICY_USE_MASK;
        if (FLAGS_SET(u, _PARTITION_POLICY_READ_ONLY_MASK))
                u &= ~_PARTITION_POLICY_READ_ONLY_MASK;
        if (FLAGS_SET(u, _PARTITION_POLICY_GROWFS_MASK))
                u &= ~_PARTITION_POLICY_GROWFS_MASK;
        return u;
}

int image_policy_union(const ImagePolicy *a, const ImagePolicy *b, ImagePolicy **ret) {
        _cleanup_(image_policy_freep) ImagePolicy *p = calloc(1, sizeof(ImagePolicy));

        if (!p)
                return -ENOMEM;
        a = a ?: &image_policy_allow;
        b = b ?: &image_policy_allow;

        p->default_flags = union_flags(normalize(a->default_flags, _PARTITION_DESIGNATOR_INVALID),
                                       normalize(b->default_flags, _PARTITION_DESIGNATOR_INVALID));
        for (PartitionDesignator d = 0; d < _PARTITION_DESIGNATOR_MAX; d++) {
                if (!a->has_rule[d] && !b->has_rule[d])
                        continue;
                p->has_rule[d] = true;
                p->rules[d] = union_flags(image_policy_get(a, d), image_policy_get(b, d));
        }

        *ret = TAKE_PTR(p);
        return 0;
}
