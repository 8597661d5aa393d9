/* rc.h: the conventions every roomcast module shares.
 *
 * Errors: 0 is success, a negative RC_E* code is failure; RC_AGAIN means "not finished,
 * call again with more input" in non-blocking code. Setup code also fills an errstr
 * buffer (RC_ERRSTR_LEN bytes) with one human sentence. Nothing below main() exits. */
#ifndef RC_H
#define RC_H

#include <stddef.h>
#include <stdint.h>

enum {
    RC_OK = 0,
    RC_AGAIN = -11,   /* need more bytes / try later */
    RC_EINVAL = -22,  /* malformed input */
    RC_ETOOBIG = -27, /* past a size bound */
    RC_ENOENT = -2,   /* no such thing */
    RC_EPERM = -1,    /* refused */
    RC_EIO = -5,      /* the outside world failed */
};

#define RC_ERRSTR_LEN 256
#define RC_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define RC_UNUSED(x) ((void)(x))

#endif
