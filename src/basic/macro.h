/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _noreturn_ __attribute__((noreturn))
#define _pure_ __attribute__((pure))

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define STRLEN(s) (sizeof("" s "") - 1)
/* Digits of the longest decimal representation of type, sign included. */
#define DECIMAL_STR_MAX(type) (2 + (sizeof(type) <= 1 ? 3 : sizeof(type) <= 2 ? 5 : sizeof(type) <= 4 ? 10 : 20))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

#define streq(a, b) (strcmp((a), (b)) == 0)
#define strneq(a, b, n) (strncmp((a), (b), (n)) == 0)

static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return streq(a, b);
}

static inline bool isempty(const char *s) {
        return !s || s[0] == '\0';
}

static inline const char *strempty(const char *s) {
        return s ?: "";
}

static inline const char *strna(const char *s) {
        return s ?: "n/a";
}

/* Hand ownership of a pointer or fd on: returns the value and resets the variable so that its
 * cleanup handler becomes a no-op. */
#define TAKE_PTR(p)                                     \
        ({                                              \
                __typeof__(p) _taken_ = (p);            \
                (p) = NULL;                             \
                _taken_;                                \
        })

#define TAKE_FD(fd)                                     \
        ({                                              \
                int _taken_fd_ = (fd);                  \
                (fd) = -EBADF;                          \
                _taken_fd_;                             \
        })

#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)         \
        static inline void func##p(type *p) {           \
                if (*p)                                 \
                        func(*p);                       \
        }

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

/* Destructors in this project accept NULL and return NULL, so "x = foo_free(x);" reads naturally. */
static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

#define free_and_replace(a, b)                          \
        ({                                              \
                free(a);                                \
                (a) = TAKE_PTR(b);                      \
                0;                                      \
        })

#define RET_NERRNO(expr)                                \
        ({                                              \
                int _r_ = (expr);                       \
                _r_ < 0 ? -errno : _r_;                 \
        })

/* errno may be zero after a failed libc call in rare cases; never let that turn into "success". */
static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}

#define SET_FLAG(v, flag, b) ((v) = (b) ? ((v) | (flag)) : ((v) & ~(flag)))
#define FLAGS_SET(v, flags) ((((v) & (flags)) == (flags)))

#define STRV_FOREACH(s, l) for (char **s = (l); s && *s; s++)
