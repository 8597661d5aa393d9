/* check.h: the unit tests' assertions. Each prints both operands and the line on
 * failure and counts it; a test file's main() ends with CHECK_DONE(), which prints
 * "N passed, N failed" and returns non-zero on any failure, and also when nothing was
 * checked at all (a file whose checks never ran proves nothing). Tests may #include the .c
 * under test to reach its static functions (as h2o's t/00unit does). */
#ifndef RC_CHECK_H
#define RC_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int check__passed, check__failed;

#define CHECK__FAIL(fmt, ...)                                                          \
    do {                                                                               \
        check__failed++;                                                               \
        fprintf(stderr, "%s:%d: " fmt "\n", __FILE__, __LINE__, __VA_ARGS__);          \
    } while (0)

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (cond)                                                                      \
            check__passed++;                                                           \
        else                                                                           \
            CHECK__FAIL("CHECK(%s) failed", #cond);                                    \
    } while (0)

#define CHECK_EQ(a, b)                                                                 \
    do {                                                                               \
        intmax_t check__a = (intmax_t)(a), check__b = (intmax_t)(b);                   \
        if (check__a == check__b)                                                      \
            check__passed++;                                                           \
        else                                                                           \
            CHECK__FAIL("CHECK_EQ(%s, %s): %jd != %jd", #a, #b, check__a, check__b);   \
    } while (0)

#define CHECK_STR(a, b)                                                                \
    do {                                                                               \
        const char *check__a = (a), *check__b = (b);                                   \
        if (check__a && check__b && strcmp(check__a, check__b) == 0)                   \
            check__passed++;                                                           \
        else                                                                           \
            CHECK__FAIL("CHECK_STR(%s, %s): \"%s\" != \"%s\"", #a, #b,                 \
                        check__a ? check__a : "(null)", check__b ? check__b : "(null)"); \
    } while (0)

#define CHECK_MEM(a, alen, b, blen)                                                    \
    do {                                                                               \
        size_t check__al = (alen), check__bl = (blen);                                 \
        if (check__al == check__bl && memcmp((a), (b), check__al) == 0)                \
            check__passed++;                                                           \
        else                                                                           \
            CHECK__FAIL("CHECK_MEM(%s, %s): \"%.*s\" (%zu) != \"%.*s\" (%zu)", #a, #b, \
                        (int)check__al, (const char *)(a), check__al, (int)check__bl,  \
                        (const char *)(b), check__bl);                                 \
    } while (0)

#define CHECK_DONE()                                                                   \
    do {                                                                               \
        printf("%s: %d passed, %d failed\n", __FILE__, check__passed, check__failed); \
        if (check__passed + check__failed == 0)                                        \
            fprintf(stderr, "%s: no check ran\n", __FILE__);                         \
        return check__failed || check__passed == 0 ? 1 : 0;                            \
    } while (0)

#endif
