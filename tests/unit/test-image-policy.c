/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <string.h>

#include "image-policy.h"
#include "macro.h"
#include "unit-helpers.h"

static ImagePolicy *parse(const char *s) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        ImagePolicy *p = NULL;
        int r;

        r = image_policy_from_string(s, &p, &error);
        cr_assert(eq(int, r, 0), "'%s': %s", s, error.message ?: strerror(-r));
        return p;
}

static char *print(const ImagePolicy *p, bool simplify) {
        char *s = NULL;

        cr_assert(eq(int, image_policy_to_string(p, simplify, &s), 0));
        return s;
}

Test(image_policy, parse_and_print) {
        static const char *const cases[][2] = {
                { "", "-" },
                { "-", "-" },
                { "*", "*" },
                { "~", "~" },
                { "=open", "*" },
                { "=ignore", "-" },
                { "=unused+absent", "-" },
                { "=absent", "~" },
                { "=verity+signed+encrypted+encryptedwithintegrity+unprotected+unused+absent", "*" },
                { "root=verity+signed:usr=verity:=unprotected+absent", "root=verity+signed:usr=verity:=unprotected+absent" },
                { "usr=verity:root=signed+verity", "root=verity+signed:usr=verity" },
                { "swap=open", "swap=open" },
                { "root=ignore:=ignore", "-" },
                { "root=signed+read-only-on+growfs-off:=absent", "root=signed+read-only-on+growfs-off:=absent" },
                { "root=ext4+squashfs+verity", "root=verity+ext4+squashfs" },
                { "root=verity+read-only-on+read-only-off", "root=verity" },
                { " root = verity + signed : = absent ", "root=verity+signed:=absent" },
                { "root=verity:", "root=verity" },
                { "=vfat+erofs", "=erofs+vfat" },
                { "root=signed+squashfs:=absent", "root=signed+squashfs:=absent" },
        };
        _cleanup_free_ char *failures = NULL;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(image_policy_freep) ImagePolicy *p = parse(cases[i][0]), *again = NULL, *long_again = NULL;
                _cleanup_free_ char *s = print(p, true), *l = print(p, false);

                if (!streq(s, cases[i][1]))
                        unit_note(&failures, "'%s' printed as '%s', want '%s'", cases[i][0], s, cases[i][1]);
                /* Both forms parse back to the same effect. */
                again = parse(s);
                long_again = parse(l);
                if (!image_policy_equivalent(p, again))
                        unit_note(&failures, "'%s' → '%s' changed its meaning", cases[i][0], s);
                if (!image_policy_equivalent(p, long_again))
                        unit_note(&failures, "'%s' → '%s' (long) changed its meaning", cases[i][0], l);
        }
        cr_assert(zero(ptr, failures), "%s", failures);
}

Test(image_policy, parse_errors_name_the_culprit) {
        static const struct {
                const char *policy;
                int error;
                const char *in_message;
        } cases[] = {
                { "pfft", -EINVAL, "'pfft' lacks '='" },
                { ":", -EINVAL, "empty rule" },
                { "root=verity::usr=verity", -EINVAL, "empty rule" },
                { "a=", -EBADSLT, "designator 'a'" },
                { "wowza=open", -EBADSLT, "designator 'wowza'" },
                { "root-secondary=open", -EBADSLT, "root-secondary" },
                { "=a", -EBADRQC, "unknown flag in '=a'" },
                { "==", -EBADRQC, "unknown flag" },
                { "root=grbl", -EBADRQC, "'root=grbl'" },
                { "root=verity++signed", -EBADRQC, "unknown flag" },
                { "root=verity:root=encrypted", -ENOTUNIQ, "more than one rule for 'root'" },
                { "=open:=absent", -ENOTUNIQ, "default rule is given twice" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                ImagePolicy *p = NULL;

                cr_assert(eq(int, image_policy_from_string(cases[i].policy, &p, &error), cases[i].error), "%s",
                          cases[i].policy);
                cr_assert(zero(ptr, p));
                cr_assert(not(zero(ptr, strstr(strempty(error.message), cases[i].in_message))), "'%s': %s",
                          cases[i].policy, strna(error.message));
                cr_assert(not(zero(ptr, strstr(error.message, cases[i].policy))), "%s", error.message);
        }
}

Test(image_policy, flags_strings) {
        PartitionPolicyFlags f;
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;

        cr_assert(eq(int, partition_policy_flags_from_string("verity+squashfs+growfs-on", &f), 0));
        cr_assert(eq(int, f, PARTITION_POLICY_VERITY | PARTITION_POLICY_SQUASHFS | PARTITION_POLICY_GROWFS_ON));
        cr_assert(eq(int, partition_policy_flags_from_string("-", &f), 0));
        cr_assert(eq(int, f, 0));
        cr_assert(eq(int, partition_policy_flags_from_string("open", &f), 0));
        cr_assert(eq(int, f, PARTITION_POLICY_OPEN));
        cr_assert(eq(int, partition_policy_flags_from_string("Verity", &f), -EBADRQC));

        cr_assert(eq(int, partition_policy_flags_to_string(PARTITION_POLICY_OPEN | _PARTITION_POLICY_PFLAGS_MASK, true, &a), 0));
        assert_str(a, "open");
        cr_assert(eq(int, partition_policy_flags_to_string(PARTITION_POLICY_IGNORE | PARTITION_POLICY_READ_ONLY_ON, false, &b), 0));
        assert_str(b, "unused+absent+read-only-on");
        cr_assert(eq(int, partition_policy_flags_to_string(0, true, &c), 0));
        assert_str(c, "-");
}

Test(image_policy, effective_flags) {
        _cleanup_(image_policy_freep) ImagePolicy *p = parse("root=signed+squashfs:usr=verity+absent:=unprotected+absent");

        cr_assert(eq(int, image_policy_get(p, PARTITION_ROOT) & _PARTITION_POLICY_USE_MASK, PARTITION_POLICY_SIGNED));
        cr_assert(holds(image_policy_get(p, PARTITION_ROOT) & PARTITION_POLICY_SQUASHFS));
        /* The verity companions follow their data partition... */
        cr_assert(eq(int, image_policy_get(p, PARTITION_ROOT_VERITY) & _PARTITION_POLICY_USE_MASK, PARTITION_POLICY_UNPROTECTED));
        cr_assert(eq(int, image_policy_get(p, PARTITION_ROOT_VERITY_SIG) & _PARTITION_POLICY_USE_MASK,
                     PARTITION_POLICY_UNPROTECTED));
        cr_assert(eq(int, image_policy_get(p, PARTITION_USR_VERITY) & _PARTITION_POLICY_USE_MASK,
                     PARTITION_POLICY_UNPROTECTED | PARTITION_POLICY_ABSENT));
        /* ...but a signature is only required where the data must be signed. */
        cr_assert(eq(int, image_policy_get(p, PARTITION_USR_VERITY_SIG) & _PARTITION_POLICY_USE_MASK,
                     PARTITION_POLICY_UNPROTECTED | PARTITION_POLICY_ABSENT));
        /* Verity makes no sense for home: masked. */
        cr_assert(eq(int, image_policy_get(p, PARTITION_HOME) & _PARTITION_POLICY_USE_MASK,
                     PARTITION_POLICY_UNPROTECTED | PARTITION_POLICY_ABSENT));
        /* No policy: everything goes. */
        cr_assert(holds(image_policy_get(NULL, PARTITION_ROOT) & PARTITION_POLICY_UNPROTECTED));
        cr_assert(holds(image_policy_get(NULL, PARTITION_ROOT) & PARTITION_POLICY_SIGNED));
        cr_assert(eq(int, image_policy_get(p, _PARTITION_DESIGNATOR_MAX), _PARTITION_POLICY_FLAGS_INVALID));
}

/* Synthetic layouts, as image_dissect() and the signature check would leave them. */
static void add(DissectedImage *m, PartitionDesignator d, const char *fstype, PartitionProtection prot, bool sig,
                uint64_t gpt_flags) {
        m->partitions[d] = (DissectedPartition) {
                .found = true,
                .partno = (unsigned) d + 1,
                .fstype = fstype ? strdup(fstype) : NULL,
                .protection = prot,
                .has_signature = sig,
                .gpt_flags = gpt_flags,
        };
}

static void gpt_image(DissectedImage *m, PartitionProtection prot, bool sig) {
        *m = (DissectedImage) { .name = strdup("test.raw"), .partitioned = true };
        add(m, PARTITION_ROOT, "squashfs", prot, sig, 0);
        if (prot >= PARTITION_VERITY)
                add(m, PARTITION_ROOT_VERITY, "DM_verity_hash", 0, false, GPT_FLAG_READ_ONLY);
        if (sig)
                add(m, PARTITION_ROOT_VERITY_SIG, NULL, 0, false, GPT_FLAG_READ_ONLY);
}

static int check(const char *policy, DissectedImage *m, char **ret_message) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(image_policy_freep) ImagePolicy *p = policy ? parse(policy) : NULL;
        int r;

        r = image_policy_check(p, m, &error);
        if (ret_message)
                *ret_message = error.message ? strdup(error.message) : NULL;
        return r;
}

static void assert_refused(const char *policy, DissectedImage *m, const char *const *in_message) {
        _cleanup_free_ char *msg = NULL;

        cr_assert(eq(int, check(policy, m, &msg), -ERFKILL), "'%s' was accepted", policy);
        cr_assert(not(zero(ptr, strstr(strempty(msg), "Image 'test.raw'"))), "%s", strna(msg));
        for (; *in_message; in_message++)
                cr_assert(not(zero(ptr, strstr(strempty(msg), *in_message))), "'%s' not in: %s", *in_message, strna(msg));
}

/* Checks a fresh signed GPT image: image_policy_check() drops what a policy leaves unused. */
static int check_signed(const char *policy) {
        _cleanup_(dissected_image_done) DissectedImage m = {};

        gpt_image(&m, PARTITION_SIGNED, true);
        return check(policy, &m, NULL);
}

Test(image_policy, signed_image) {
        _cleanup_(dissected_image_done) DissectedImage m = {}, n = {};
        const char *const rule[] = { "partition 'root'", NULL };
        const char *const sig[] = { "partition 'root-verity-sig' is present", "'=absent' (the default)", NULL };

        cr_assert(eq(int, check_signed(NULL), 0));
        cr_assert(eq(int, check_signed("*"), 0));
        cr_assert(eq(int, check_signed("root=signed:=absent"), 0));
        cr_assert(eq(int, check_signed("root=signed+squashfs:=absent"), 0));
        /* Signed qualifies for less, too... */
        cr_assert(eq(int, check_signed("root=unprotected:=absent+unused"), 0));
        /* ...and the signature partition is then left unused, which a default of "absent" does not
         * allow (as upstream). */
        cr_assert(eq(int, check_signed("root=verity"), 0));
        gpt_image(&m, PARTITION_SIGNED, true);
        assert_refused("root=verity:=absent", &m, sig);
        gpt_image(&n, PARTITION_SIGNED, true);
        assert_refused("root=encrypted:=absent", &n, rule);
}

Test(image_policy, signed_policy_refuses_untrusted_and_unsigned) {
        _cleanup_(dissected_image_done) DissectedImage untrusted = {}, unsigned_ = {}, plain = {};
        const char *const r1[] = { "partition 'root'", "signature is not trusted", "'root=signed'", NULL };
        const char *const r2[] = { "partition 'root'", "verity-protected but not signed", "'root=signed'", NULL };
        const char *const r3[] = { "partition 'root'", "not protected by verity", "'root=verity+signed'", NULL };

        gpt_image(&untrusted, PARTITION_VERITY, true);
        assert_refused("root=signed:=absent", &untrusted, r1);
        cr_assert(eq(int, check("root=verity+signed:=absent", &untrusted, NULL), 0));

        gpt_image(&unsigned_, PARTITION_VERITY, false);
        assert_refused("root=signed:=absent", &unsigned_, r2);

        gpt_image(&plain, PARTITION_UNPROTECTED, false);
        assert_refused("root=verity+signed:=unprotected+absent", &plain, r3);
        cr_assert(eq(int, check("root=unprotected:=absent", &plain, NULL), 0));
}

Test(image_policy, the_issue_example) {
        _cleanup_(dissected_image_done) DissectedImage both = {}, root_only = {};
        const char *const r[] = { "partition 'usr' is absent", "'usr=verity'", NULL };
        const char *policy = "root=verity+signed:usr=verity:=unprotected+absent";

        gpt_image(&both, PARTITION_SIGNED, true);
        add(&both, PARTITION_USR, "erofs", PARTITION_VERITY, false, 0);
        add(&both, PARTITION_USR_VERITY, "DM_verity_hash", 0, false, 0);
        cr_assert(eq(int, check(policy, &both, NULL), 0));

        /* usr=verity without "absent": the /usr partition must be there. */
        gpt_image(&root_only, PARTITION_SIGNED, true);
        assert_refused(policy, &root_only, r);
}

Test(image_policy, absent_and_unused) {
        _cleanup_(dissected_image_done) DissectedImage a = {}, b = {}, c = {}, d = {};
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(image_policy_freep) ImagePolicy *p = NULL;
        const char *const r1[] = { "partition 'root' is present", "'=absent' (the default)", NULL };
        const char *const r2[] = { "partition 'esp' is present", "'esp=absent'", NULL };

        gpt_image(&a, PARTITION_UNPROTECTED, false);
        assert_refused("~", &a, r1);

        gpt_image(&b, PARTITION_UNPROTECTED, false);
        add(&b, PARTITION_ESP, "vfat", 0, false, 0);
        assert_refused("esp=absent:=open", &b, r2);

        /* Ignoring root leaves /usr; root and its verity data are dropped. */
        gpt_image(&c, PARTITION_VERITY, false);
        add(&c, PARTITION_USR, "erofs", PARTITION_UNPROTECTED, false, 0);
        cr_assert(eq(int, check("root=ignore:usr=unprotected", &c, NULL), 0));
        cr_assert(not(c.partitions[PARTITION_ROOT].found));
        cr_assert(c.partitions[PARTITION_ROOT].ignored);
        cr_assert(not(c.partitions[PARTITION_ROOT_VERITY].found));
        cr_assert(c.partitions[PARTITION_USR].found);

        /* Ignoring everything leaves nothing to mount. */
        gpt_image(&d, PARTITION_UNPROTECTED, false);
        p = parse("-");
        cr_assert(eq(int, image_policy_check(p, &d, &error), -ENXIO));
        cr_assert(not(zero(ptr, strstr(strempty(error.message), "neither the root nor the /usr"))));
}

Test(image_policy, file_systems_and_gpt_flags) {
        _cleanup_(dissected_image_done) DissectedImage m = {}, naked = {};
        const char *const r1[] = { "partition 'root' is a 'squashfs' file system", "'root=erofs+ext4'", NULL };
        const char *const r2[] = { "partition 'root' is marked growfs", "'root=growfs-off'", NULL };
        const char *const r3[] = { "partition 'root-verity' is marked read-only", "'root-verity=read-only-off'", NULL };

        gpt_image(&m, PARTITION_VERITY, false);
        m.partitions[PARTITION_ROOT].gpt_flags = GPT_FLAG_GROWFS;
        assert_refused("root=ext4+erofs", &m, r1);
        cr_assert(eq(int, check("root=squashfs+erofs:root-verity=open", &m, NULL), 0));
        assert_refused("root=growfs-off:root-verity=open", &m, r2);
        cr_assert(eq(int, check("root=growfs-on+read-only-off:root-verity=open", &m, NULL), 0));
        assert_refused("root=open:root-verity=read-only-off", &m, r3);
        /* The hash partition holds no file system: a file system rule does not apply to it. */
        cr_assert(eq(int, check("root=open:root-verity=squashfs", &m, NULL), 0));

        /* A naked file system has no GPT flags to check. */
        naked = (DissectedImage) { .name = strdup("test.raw") };
        add(&naked, PARTITION_ROOT, "squashfs", PARTITION_UNPROTECTED, false, 0);
        cr_assert(eq(int, check("root=read-only-on+growfs-on", &naked, NULL), 0));
}

Test(image_policy, pin_naked_signed_squashfs) {
        _cleanup_(dissected_image_done) DissectedImage m = { .name = strdup("test.raw") }, downgraded = {};
        _cleanup_(image_policy_freep) ImagePolicy *pin = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *s = NULL;

        /* NAME.raw with NAME.verity, NAME.roothash and a trusted NAME.roothash.p7s. */
        add(&m, PARTITION_ROOT, "squashfs", PARTITION_SIGNED, true, 0);
        cr_assert(eq(int, image_policy_pin(&m, &pin), 0));
        s = print(pin, true);
        assert_str(s, "root=signed+squashfs:=absent");
        cr_assert(not(zero(ptr, strstr(s, "root=signed+squashfs:")))); /* what upstream's tests grep for */

        /* The pin accepts what it was made from, and not the same image without its signature. */
        cr_assert(eq(int, image_policy_check(pin, &m, &error), 0), "%s", error.message);
        downgraded = (DissectedImage) { .name = strdup("test.raw") };
        add(&downgraded, PARTITION_ROOT, "squashfs", PARTITION_VERITY, true, 0);
        cr_assert(eq(int, image_policy_check(pin, &downgraded, NULL), -ERFKILL));
}

Test(image_policy, pin_gpt_layouts) {
        static const struct {
                PartitionProtection root, usr;
                const char *fs, *pin;
        } cases[] = {
                { PARTITION_SIGNED, -1, "squashfs", "root=signed+squashfs:=absent" },
                { PARTITION_VERITY, -1, "erofs", "root=verity+erofs:=absent" },
                { PARTITION_UNPROTECTED, -1, "ext4", "root=ext4:=absent" },
                { PARTITION_UNPROTECTED, PARTITION_VERITY, "erofs", "root=erofs:usr=verity+erofs:=absent" },
                { -1, PARTITION_SIGNED, "squashfs", "usr=signed+squashfs:=absent" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(dissected_image_done) DissectedImage m = { .name = strdup("test.raw"), .partitioned = true };
                _cleanup_(image_policy_freep) ImagePolicy *pin = NULL;
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_free_ char *s = NULL;

                for (PartitionDesignator d = PARTITION_ROOT; d <= PARTITION_USR; d++) {
                        int prot = d == PARTITION_ROOT ? (int) cases[i].root : (int) cases[i].usr;

                        if (prot < 0)
                                continue;
                        add(&m, d, cases[i].fs, prot, prot == PARTITION_SIGNED, GPT_FLAG_GROWFS);
                        if (prot >= PARTITION_VERITY)
                                add(&m, partition_verity_of(d), "DM_verity_hash", 0, false, GPT_FLAG_READ_ONLY);
                        if (prot == PARTITION_SIGNED)
                                add(&m, partition_verity_sig_of(d), NULL, 0, false, GPT_FLAG_READ_ONLY);
                }
                cr_assert(eq(int, image_policy_pin(&m, &pin), 0));
                s = print(pin, true);
                assert_str(s, cases[i].pin);
                cr_assert(eq(int, image_policy_check(pin, &m, &error), 0), "%s: %s", cases[i].pin, error.message);
        }
}

Test(image_policy, pin_refuses_new_partitions) {
        _cleanup_(dissected_image_done) DissectedImage m = {}, grown = {};
        _cleanup_(image_policy_freep) ImagePolicy *pin = NULL;

        gpt_image(&m, PARTITION_SIGNED, true);
        cr_assert(eq(int, image_policy_pin(&m, &pin), 0));
        gpt_image(&grown, PARTITION_SIGNED, true);
        add(&grown, PARTITION_USR, "squashfs", PARTITION_UNPROTECTED, false, 0);
        cr_assert(eq(int, image_policy_check(pin, &grown, NULL), -ERFKILL));
}

Test(image_policy, union_of_policies) {
        static const char *const cases[][3] = {
                { "root=verity+signed", "root=signed+verity", "root=verity+signed" },
                { "root=signed:=absent", "root=verity:=absent", "root=verity+signed:=absent" },
                { "root=signed+squashfs:=absent", "root=signed+erofs:=absent", "root=signed+erofs+squashfs:=absent" },
                { "root=signed+squashfs:=absent", "root=signed:=absent", "root=signed:=absent" },
                { "root=open", "root=verity", "root=open" },
                { "~", "*", "*" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(image_policy_freep) ImagePolicy *a = parse(cases[i][0]), *b = parse(cases[i][1]),
                                                          *want = parse(cases[i][2]), *u = NULL;
                _cleanup_free_ char *got = NULL;

                cr_assert(eq(int, image_policy_union(a, b, &u), 0));
                got = print(u, true);
                cr_assert(image_policy_equivalent(u, want), "%s ∪ %s = %s, want %s", cases[i][0], cases[i][1], got,
                          cases[i][2]);
        }
}
