/* config.h: settings from the environment, each overridable by a flag of the same name
 * in kebab case (ROOMCAST_LISTEN -> --listen=VALUE or --listen VALUE). Read and checked
 * once in main() into a struct the program then treats as const.
 *
 * A service describes its settings as a table of rc_cfg_item; rc_config_load fills each
 * item's destination or fails on the first bad value with one line in errstr naming the
 * variable, what it got and what it wanted, e.g.
 *   ROOMCAST_LISTEN: "nonsense" is not HOST:PORT
 * main() prints that line and exits 2. Strings stored by the loader are owned by the
 * loader's caller and live until rc_config_free_strings. */
#ifndef RC_CONFIG_H
#define RC_CONFIG_H

#include <stddef.h>

#include "common/rc.h"

typedef enum {
    RC_CFG_STRING,   /* char *; NULL when unset with no default */
    RC_CFG_INT,      /* long within [min, max] */
    RC_CFG_ADDR,     /* rc_addr: HOST:PORT */
    RC_CFG_ENUM,     /* char *, one of the comma list in choices, any case; stored as listed */
    RC_CFG_FILE,     /* char *, a readable file */
    RC_CFG_BOOL,     /* int: true/false/1/0/yes/no */
    RC_CFG_HOSTPORTS /* char *, a comma list of HOST:PORT (bootstrap servers) */
} rc_cfg_type;

typedef struct {
    char host[256];
    int port;
} rc_addr;

typedef struct {
    const char *env;     /* ROOMCAST_... */
    rc_cfg_type type;
    const char *def;     /* default as text, NULL for none */
    void *dest;          /* char **, long *, rc_addr *, int * */
    long min, max;       /* RC_CFG_INT bounds */
    const char *choices; /* RC_CFG_ENUM: "strict,open" */
    const char *help;
} rc_cfg_item;

/* Applies the environment, then flags from argv[1..]. Returns 0, or RC_EINVAL with errstr
 * set. "--help" is reported as RC_ENOENT with the usage in errstr's caller (see usage). */
int rc_config_load(const rc_cfg_item *items, size_t n, int argc, char **argv, char *errstr,
                   size_t errlen);
/* Prints every setting, its flag, default and help to stdout. */
void rc_config_usage(const char *program, const rc_cfg_item *items, size_t n);
/* Frees the strings rc_config_load stored (RC_CFG_STRING, _ENUM, _FILE, _HOSTPORTS). */
void rc_config_free_strings(const rc_cfg_item *items, size_t n);

/* "HOST:PORT", "[v6]:PORT" -> addr. Returns 0 or RC_EINVAL. Port 0 is allowed (any). */
int rc_addr_parse(const char *text, rc_addr *out);
/* Writes "host:port" into buf. */
const char *rc_addr_format(const rc_addr *a, char *buf, size_t len);

#endif
