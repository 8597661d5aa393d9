/* config.c: environment + flag settings, validated at start (see config.h). */
#include "common/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/alloc.h"

int rc_addr_parse(const char *text, rc_addr *out)
{
    const char *colon;
    size_t hostlen;
    const char *host = text;
    if (text[0] == '[') {
        const char *end = strchr(text, ']');
        if (!end || end[1] != ':')
            return RC_EINVAL;
        host = text + 1;
        hostlen = (size_t)(end - host);
        colon = end + 1;
    } else {
        colon = strrchr(text, ':');
        if (!colon)
            return RC_EINVAL;
        hostlen = (size_t)(colon - text);
        if (memchr(text, ':', hostlen))
            return RC_EINVAL; /* bare IPv6 needs brackets */
    }
    if (hostlen == 0 || hostlen >= sizeof(out->host))
        return RC_EINVAL;
    for (size_t i = 0; i < hostlen; i++) {
        unsigned char c = (unsigned char)host[i];
        if (!(isalnum(c) || c == '.' || c == '-' || c == '_' || c == ':'))
            return RC_EINVAL;
    }
    const char *p = colon + 1;
    if (*p == '\0' || strlen(p) > 5)
        return RC_EINVAL;
    long port = 0;
    for (; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return RC_EINVAL;
        port = port * 10 + (*p - '0');
    }
    if (port > 65535)
        return RC_EINVAL;
    memcpy(out->host, host, hostlen);
    out->host[hostlen] = '\0';
    out->port = (int)port;
    return RC_OK;
}

const char *rc_addr_format(const rc_addr *a, char *buf, size_t len)
{
    if (strchr(a->host, ':'))
        snprintf(buf, len, "[%s]:%d", a->host, a->port);
    else
        snprintf(buf, len, "%s:%d", a->host, a->port);
    return buf;
}

/* ROOMCAST_JWT_SECRET -> jwt-secret */
static void rc__flag_name(const char *env, char *buf, size_t len)
{
    const char *p = strncmp(env, "ROOMCAST_", 9) == 0 ? env + 9 : env;
    size_t i = 0;
    for (; *p && i + 1 < len; p++, i++)
        buf[i] = *p == '_' ? '-' : (char)tolower((unsigned char)*p);
    buf[i] = '\0';
}

/* The choice in the comma list that v names, ignoring case ("sasl_ssl" is SASL_SSL, as
 * librdkafka and the Java client take it), as its offset and length; -1 for none. */
static long rc__choice(const char *v, const char *choices, size_t *len)
{
    size_t vl = strlen(v);
    const char *p = choices;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t l = end ? (size_t)(end - p) : strlen(p);
        if (l == vl && strncasecmp(p, v, l) == 0) {
            *len = l;
            return (long)(p - choices);
        }
        if (!end)
            break;
        p = end + 1;
    }
    return -1;
}

static int rc__set(const rc_cfg_item *it, const char *v, char *errstr, size_t errlen)
{
    switch (it->type) {
    case RC_CFG_STRING: {
        char **d = it->dest;
        rc_free(*d);
        *d = rc_strdup(v);
        return RC_OK;
    }
    case RC_CFG_INT: {
        char *end;
        errno = 0;
        long n = strtol(v, &end, 10);
        if (errno || end == v || *end || n < it->min || n > it->max) {
            snprintf(errstr, errlen, "%s: \"%s\" is not a whole number from %ld to %ld", it->env, v,
                     it->min, it->max);
            return RC_EINVAL;
        }
        *(long *)it->dest = n;
        return RC_OK;
    }
    case RC_CFG_ADDR:
        if (rc_addr_parse(v, it->dest) != RC_OK) {
            snprintf(errstr, errlen, "%s: \"%s\" is not HOST:PORT", it->env, v);
            return RC_EINVAL;
        }
        return RC_OK;
    case RC_CFG_ENUM: {
        size_t l = 0;
        long at = rc__choice(v, it->choices, &l);
        if (at < 0) {
            snprintf(errstr, errlen, "%s: \"%s\" is not one of %s", it->env, v, it->choices);
            return RC_EINVAL;
        }
        char **d = it->dest;
        rc_free(*d);
        *d = rc_strndup(it->choices + at, l); /* the spelling of the table */
        return RC_OK;
    }
    case RC_CFG_FILE:
        if (access(v, R_OK) != 0) {
            snprintf(errstr, errlen, "%s: \"%s\" is not a readable file (%s)", it->env, v,
                     strerror(errno));
            return RC_EINVAL;
        }
        break;
    case RC_CFG_BOOL: {
        int b;
        if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on"))
            b = 1;
        else if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off"))
            b = 0;
        else {
            snprintf(errstr, errlen, "%s: \"%s\" is not true or false", it->env, v);
            return RC_EINVAL;
        }
        *(int *)it->dest = b;
        return RC_OK;
    }
    case RC_CFG_HOSTPORTS: {
        char *copy = rc_strdup(v), *save = NULL;
        int n = 0;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            rc_addr a;
            while (*tok == ' ')
                tok++;
            if (rc_addr_parse(tok, &a) != RC_OK || a.port == 0) {
                snprintf(errstr, errlen, "%s: \"%s\" is not a comma list of HOST:PORT", it->env, v);
                rc_free(copy);
                return RC_EINVAL;
            }
            n++;
        }
        rc_free(copy);
        if (n == 0) {
            snprintf(errstr, errlen, "%s: is empty; want a comma list of HOST:PORT", it->env);
            return RC_EINVAL;
        }
        break;
    }
    }
    char **d = it->dest;
    rc_free(*d);
    *d = rc_strdup(v);
    return RC_OK;
}

int rc_config_load(const rc_cfg_item *items, size_t n, int argc, char **argv, char *errstr,
                   size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        const char *v = getenv(items[i].env);
        if (!v || !*v)
            v = items[i].def;
        if (v && rc__set(&items[i], v, errstr, errlen) != RC_OK)
            return RC_EINVAL;
    }
    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h"))
            return RC_ENOENT;
        if (strncmp(arg, "--", 2) != 0) {
            snprintf(errstr, errlen, "unexpected argument \"%s\" (settings are --name=value)", arg);
            return RC_EINVAL;
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t nl = eq ? (size_t)(eq - name) : strlen(name);
        const rc_cfg_item *it = NULL;
        char flag[128];
        for (size_t i = 0; i < n && !it; i++) {
            rc__flag_name(items[i].env, flag, sizeof(flag));
            if (strlen(flag) == nl && strncmp(flag, name, nl) == 0)
                it = &items[i];
        }
        if (!it) {
            snprintf(errstr, errlen, "unknown flag \"%.*s\" (try --help)", (int)(nl + 2), arg);
            return RC_EINVAL;
        }
        const char *v = eq ? eq + 1 : (a + 1 < argc ? argv[++a] : NULL);
        if (!v) {
            snprintf(errstr, errlen, "%s: flag --%.*s needs a value", it->env, (int)nl, name);
            return RC_EINVAL;
        }
        if (rc__set(it, v, errstr, errlen) != RC_OK)
            return RC_EINVAL;
    }
    return RC_OK;
}

void rc_config_usage(const char *program, const rc_cfg_item *items, size_t n)
{
    printf("usage: %s [--setting=value ...]\nSettings (environment variable, flag, default):\n",
           program);
    for (size_t i = 0; i < n; i++) {
        char flag[128];
        rc__flag_name(items[i].env, flag, sizeof(flag));
        printf("  %-30s --%-24s %s\n      %s\n", items[i].env, flag,
               items[i].def ? items[i].def : "(unset)", items[i].help);
    }
}

void rc_config_free_strings(const rc_cfg_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        rc_cfg_type t = items[i].type;
        if (t == RC_CFG_STRING || t == RC_CFG_ENUM || t == RC_CFG_FILE || t == RC_CFG_HOSTPORTS) {
            char **d = items[i].dest;
            rc_free(*d);
            *d = NULL;
        }
    }
}
