/* routes.c: the routing table (see routes.h for the format and the rules).
 *
 * Loading turns each room template into parts (literal text followed by at most one
 * placeholder) so that applying a route never parses a template again. Applying parses
 * the payload once with jansson to read routing fields, but cuts the delivered values
 * from the input bytes: jansson re-encodes numbers (0.1 becomes 0.10000000000000001),
 * and a client must see what the backend wrote (common/jsonspan.h finds those bytes). */
#include "common/routes.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/jsonspan.h"

/* An event fanned out to more rooms than this is refused: a list field that large is a
 * backend bug, and de-duplication is quadratic. */
#define ROUTES_ROOMS_MAX 1000
#define ROUTES_TYPE_MAX 128
#define ROUTES__STR(x) ROUTES__STR2(x)
#define ROUTES__STR2(x) #x

typedef struct {
    char *text;  /* the path as written, without a trailing "[]" */
    char **segs; /* its dotted names */
    size_t nsegs;
} routes_path;

/* Literal text, then a placeholder when path.nsegs > 0. */
typedef struct {
    char *lit;
    routes_path path;
    int is_list;
} routes_part;

typedef struct {
    char *text;
    routes_part *parts;
    size_t nparts;
    int has_list;
} routes_tpl;

typedef struct {
    char *type;
    char *event;
    routes_tpl *rooms;
    size_t nrooms;
    int global;         /* rooms is exactly {"*"} */
    int payload_single; /* payload is fields[0] itself, not an object of fields */
    char **fields;
    size_t nfields;
} routes_route;

struct rc_routes {
    routes_route *routes; /* sorted by type */
    size_t n;
};

/* ---- small helpers ------------------------------------------------------------------ */

typedef struct {
    char *p;
    size_t len, cap;
} routes_buf;

/* Makes room for n more bytes and a terminator. */
static void buf_reserve(routes_buf *b, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = rc_realloc(b->p, b->cap);
    }
}

static void buf_add(routes_buf *b, const char *s, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_adds(routes_buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

static int is_word(char c)
{
    return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* A field name: a letter or '_', then letters, digits and '_'. */
static int is_ident(const char *s, size_t n)
{
    if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_word(s[i]))
            return 0;
    return 1;
}

static int has_ctl(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 1;
    return 0;
}

static const char *kind_of(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "a list";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a fractional number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* ---- loading ------------------------------------------------------------------------ */

/* Where a load error goes and what it names: the source and the route being read. */
typedef struct {
    const char *src, *type;
    char *errstr;
    size_t errlen;
} routes_ld;

/* Writes "source: route "type": message" into errstr; returns RC_EINVAL for the caller. */
static int load_fail(const routes_ld *ld, const char *fmt, ...)
{
    char msg[RC_ERRSTR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (ld->errstr && ld->errlen)
        snprintf(ld->errstr, ld->errlen, "%s%s%s%s%s%s", ld->src ? ld->src : "",
                 ld->src ? ": " : "", ld->type ? "route \"" : "", ld->type ? ld->type : "",
                 ld->type ? "\": " : "", msg);
    return RC_EINVAL;
}

static void route_free(routes_route *r)
{
    for (size_t i = 0; i < r->nrooms; i++) {
        for (size_t j = 0; j < r->rooms[i].nparts; j++) {
            routes_path *p = &r->rooms[i].parts[j].path;
            for (size_t k = 0; k < p->nsegs; k++)
                rc_free(p->segs[k]);
            rc_free(p->segs);
            rc_free(p->text);
            rc_free(r->rooms[i].parts[j].lit);
        }
        rc_free(r->rooms[i].parts);
        rc_free(r->rooms[i].text);
    }
    for (size_t i = 0; i < r->nfields; i++)
        rc_free(r->fields[i]);
    rc_free(r->rooms);
    rc_free(r->fields);
    rc_free(r->type);
    rc_free(r->event);
}

/* Parses one placeholder body ("message.participantIds[]"); a message on error. */
static const char *part_parse_path(const char *s, size_t n, routes_part *part)
{
    if (n == 0)
        return "empty placeholder \"{}\"";
    if (n >= 2 && s[n - 2] == '[' && s[n - 1] == ']') {
        part->is_list = 1;
        n -= 2;
    }
    if (memchr(s, '[', n) || memchr(s, ']', n))
        return "\"[]\" may only end a placeholder's path";
    routes_path *p = &part->path;
    p->text = rc_strndup(s, n);
    for (size_t i = 0, start = 0; i <= n; i++) {
        if (i < n && s[i] != '.')
            continue;
        if (!is_ident(s + start, i - start))
            return "a placeholder is a dotted path of field names (letters, digits, _)";
        p->segs = rc_realloc(p->segs, (p->nsegs + 1) * sizeof *p->segs);
        p->segs[p->nsegs++] = rc_strndup(s + start, i - start);
        start = i + 1;
    }
    return NULL;
}

/* Splits text into parts: literal text, each followed by at most one placeholder. */
static const char *tpl_split(const char *text, size_t n, routes_tpl *t)
{
    for (size_t i = 0; i < n;) {
        size_t lit = i;
        while (i < n && text[i] != '{' && text[i] != '}')
            i++;
        t->parts = rc_realloc(t->parts, (t->nparts + 1) * sizeof *t->parts);
        routes_part *part = &t->parts[t->nparts++];
        memset(part, 0, sizeof *part);
        part->lit = rc_strndup(text + lit, i - lit);
        if (i == n)
            break;
        if (text[i] == '}')
            return "\"}\" without \"{\"";
        const char *close = memchr(text + i + 1, '}', n - i - 1);
        const char *open = memchr(text + i + 1, '{', n - i - 1);
        if (!close)
            return "unclosed \"{\"";
        if (open && open < close)
            return "\"{\" inside a placeholder";
        const char *why = part_parse_path(text + i + 1, (size_t)(close - text) - i - 1, part);
        if (why)
            return why;
        if (part->is_list && t->has_list)
            return "two list placeholders (at most one a room)";
        t->has_list |= part->is_list;
        i = (size_t)(close - text) + 1;
    }
    return n > RC_ROUTES_ROOM_MAX ? "longer than " ROUTES__STR(RC_ROUTES_ROOM_MAX) " bytes" : NULL;
}

static int route_parse_rooms(const routes_ld *ld, json_t *rooms, routes_route *r)
{
    if (!json_is_array(rooms))
        return load_fail(ld, "\"rooms\" must be a list of room templates");
    if (json_array_size(rooms) == 0)
        return load_fail(ld, "\"rooms\" is empty: a route needs a room");
    r->rooms = rc_calloc(json_array_size(rooms), sizeof *r->rooms);
    for (size_t i = 0; i < json_array_size(rooms); i++) {
        json_t *v = json_array_get(rooms, i);
        if (!json_is_string(v))
            return load_fail(ld, "rooms[%zu] is not a string", i);
        const char *text = json_string_value(v);
        routes_tpl *t = &r->rooms[r->nrooms++];
        t->text = rc_strdup(text);
        if (!*text || has_ctl(text, strlen(text)))
            return load_fail(ld, "rooms[%zu] is empty or has a control character", i);
        const char *why = tpl_split(text, strlen(text), t);
        if (why)
            return load_fail(ld, "rooms[%zu] \"%s\": %s", i, text, why);
        for (size_t j = 0; j < i; j++)
            if (strcmp(r->rooms[j].text, text) == 0)
                return load_fail(ld, "rooms[%zu] repeats rooms[%zu]", i, j);
        r->global |= strcmp(text, "*") == 0;
    }
    if (r->global && r->nrooms > 1)
        return load_fail(ld, "\"*\" (every socket) must be the route's only room");
    return 0;
}

static int route_parse_payload(const routes_ld *ld, json_t *payload, routes_route *r)
{
    r->payload_single = json_is_string(payload);
    if (!r->payload_single && (!json_is_array(payload) || json_array_size(payload) == 0))
        return load_fail(ld, "\"payload\" must be a field name or a list of field names");
    size_t n = r->payload_single ? 1 : json_array_size(payload);
    r->fields = rc_calloc(n, sizeof *r->fields);
    for (size_t i = 0; i < n; i++) {
        json_t *v = r->payload_single ? payload : json_array_get(payload, i);
        if (!json_is_string(v))
            return load_fail(ld, "payload[%zu] is not a string", i);
        const char *f = json_string_value(v);
        if (!is_ident(f, strlen(f)))
            return load_fail(ld, "payload field \"%s\" is not a field name (letters, digits, _)",
                             f);
        for (size_t j = 0; j < i; j++)
            if (strcmp(f, r->fields[j]) == 0)
                return load_fail(ld, "payload lists \"%s\" twice", f);
        r->fields[r->nfields++] = rc_strdup(f);
    }
    return 0;
}

static int route_parse(const routes_ld *ld, json_t *def, routes_route *r)
{
    static const char *const keys[] = {"event", "rooms", "payload"};
    const char *k;
    json_t *v;

    r->type = rc_strdup(ld->type);
    if (!json_is_object(def))
        return load_fail(ld, "must be an object {event, rooms, payload}");
    json_object_foreach (def, k, v) {
        if (strcmp(k, "event") && strcmp(k, "rooms") && strcmp(k, "payload"))
            return load_fail(ld, "unknown key \"%s\" (expected event, rooms, payload)", k);
    }
    for (size_t i = 0; i < RC_ARRAY_LEN(keys); i++)
        if (!json_object_get(def, keys[i]))
            return load_fail(ld, "missing \"%s\"", keys[i]);
    v = json_object_get(def, "event");
    if (!json_is_string(v) || json_string_length(v) == 0 ||
        json_string_length(v) > RC_ROUTES_ROOM_MAX ||
        has_ctl(json_string_value(v), json_string_length(v)))
        return load_fail(ld, "\"event\" must be a socket event name (1 to %d bytes, no control "
                             "characters)", RC_ROUTES_ROOM_MAX);
    r->event = rc_strdup(json_string_value(v));
    int rc = route_parse_rooms(ld, json_object_get(def, "rooms"), r);
    return rc ? rc : route_parse_payload(ld, json_object_get(def, "payload"), r);
}

/* A domain type: 1 to ROUTES_TYPE_MAX of letters, digits, '.', '_' and '-'. */
static int type_ok(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > ROUTES_TYPE_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_word(t[i]) && t[i] != '.' && t[i] != '-')
            return 0;
    return 1;
}

static int route_cmp(const void *a, const void *b)
{
    return strcmp(((const routes_route *)a)->type, ((const routes_route *)b)->type);
}

/* Checks the top level and parses every route into r. */
static int load_root(routes_ld *ld, json_t *root, rc_routes *r)
{
    const char *k;
    json_t *v;

    if (!json_is_object(root))
        return load_fail(ld, "the table must be a JSON object");
    json_object_foreach (root, k, v) {
        if (strcmp(k, "version") && strcmp(k, "routes"))
            return load_fail(ld, "unknown key \"%s\" (expected version, routes)", k);
    }
    v = json_object_get(root, "version");
    if (!json_is_integer(v) || json_integer_value(v) != 1)
        return load_fail(ld, "\"version\" must be 1");
    json_t *routes = json_object_get(root, "routes");
    if (!json_is_object(routes) || json_object_size(routes) == 0)
        return load_fail(ld, "\"routes\" must be a non-empty object of type: route");
    r->routes = rc_calloc(json_object_size(routes), sizeof *r->routes);
    json_object_foreach (routes, k, v) {
        if (!type_ok(k))
            return load_fail(ld,
                             "route \"%.*s\": a type is 1 to %d letters, digits, '.', '_' or '-'",
                             ROUTES_TYPE_MAX, k, ROUTES_TYPE_MAX);
        ld->type = k;
        int rc = route_parse(ld, v, &r->routes[r->n++]);
        if (rc < 0)
            return rc;
    }
    qsort(r->routes, r->n, sizeof *r->routes, route_cmp);
    return 0;
}

int rc_routes_load(const char *json_text, size_t len, const char *source_name, rc_routes **out,
                   char *errstr, size_t errlen)
{
    routes_ld ld = {source_name, NULL, errstr, errlen};
    json_error_t jerr;

    *out = NULL;
    json_t *root = json_loadb(json_text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return load_fail(&ld, "not JSON: %s (line %d, column %d)", jerr.text, jerr.line,
                         jerr.column);
    rc_routes *r = rc_calloc(1, sizeof *r);
    int rc = load_root(&ld, root, r);
    json_decref(root);
    if (rc < 0) {
        rc_routes_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

int rc_routes_load_file_or_default(const char *path_or_null, rc_routes **out, char *errstr,
                                   size_t errlen)
{
    if (!path_or_null || !*path_or_null)
        return rc_routes_load(rc_routes_embedded, rc_routes_embedded_len, "shipped routes.json",
                              out, errstr, errlen);
    *out = NULL;
    FILE *f = fopen(path_or_null, "rb");
    if (!f) {
        snprintf(errstr, errlen, "%s: %s", path_or_null, strerror(errno));
        return RC_EIO;
    }
    char *text = rc_malloc(RC_ROUTES_FILE_MAX + 1);
    size_t n = fread(text, 1, RC_ROUTES_FILE_MAX + 1, f);
    int err = ferror(f);
    fclose(f);
    int rc;
    if (err) {
        snprintf(errstr, errlen, "%s: read error", path_or_null);
        rc = RC_EIO;
    } else if (n > RC_ROUTES_FILE_MAX) {
        snprintf(errstr, errlen, "%s: larger than %d bytes", path_or_null, RC_ROUTES_FILE_MAX);
        rc = RC_ETOOBIG;
    } else {
        rc = rc_routes_load(text, n, path_or_null, out, errstr, errlen);
    }
    rc_free(text);
    return rc;
}

void rc_routes_free(rc_routes *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        route_free(&r->routes[i]);
    rc_free(r->routes);
    rc_free(r);
}

size_t rc_routes_count(const rc_routes *r)
{
    return r->n;
}

const char *rc_routes_type_at(const rc_routes *r, size_t i)
{
    return i < r->n ? r->routes[i].type : NULL;
}

static const routes_route *route_find(const rc_routes *r, const char *type)
{
    routes_route key = {.type = (char *)type};
    if (!type)
        return NULL;
    return bsearch(&key, r->routes, r->n, sizeof *r->routes, route_cmp);
}

const char *rc_routes_event_of(const rc_routes *r, const char *type)
{
    const routes_route *rt = route_find(r, type);
    return rt ? rt->event : NULL;
}

const char *rc_route_result_name(int r)
{
    switch (r) {
    case RC_ROUTE_OK: return "ok";
    case RC_ROUTE_NO_ROUTE: return "no_route";
    case RC_ROUTE_BAD_JSON: return "bad_json";
    case RC_ROUTE_MISSING_FIELD: return "missing_field";
    case RC_ROUTE_BAD_FIELD: return "bad_field";
    default: return "unknown";
    }
}

/* ---- applying: the delivered payload ------------------------------------------------ */

/* Builds "[payload]" for a route whose fields are known to be present. */
static int args_build(const routes_route *rt, const char *p, size_t n, routes_buf *b)
{
    size_t vo, vl;
    buf_adds(b, rt->payload_single ? "[" : "[{");
    for (size_t i = 0; i < rt->nfields; i++) {
        if (rc_jsonspan_member(p, n, rt->fields[i], &vo, &vl) < 0)
            return -1;
        if (!rt->payload_single) {
            buf_adds(b, i ? ",\"" : "\"");
            buf_adds(b, rt->fields[i]);
            buf_adds(b, "\":");
        }
        buf_reserve(b, vl);
        b->len += rc_jsonspan_compact(p + vo, vl, b->p + b->len);
        b->p[b->len] = '\0';
    }
    buf_adds(b, rt->payload_single ? "]" : "}]");
    return 0;
}

/* ---- applying: rooms ----------------------------------------------------------------- */

/* What is wrong with one payload: every missing field, the first bad one, and the last
 * empty list (which matters only when the event ends up with no room). */
typedef struct {
    char **missing;
    size_t nmissing;
    char bad[RC_ERRSTR_LEN];
    const char *empty_list;
} routes_issues;

static void issue_missing(routes_issues *is, const char *name, size_t n)
{
    for (size_t i = 0; i < is->nmissing; i++)
        if (strlen(is->missing[i]) == n && memcmp(is->missing[i], name, n) == 0)
            return;
    is->missing = rc_realloc(is->missing, (is->nmissing + 1) * sizeof *is->missing);
    is->missing[is->nmissing++] = rc_strndup(name, n);
}

static void issue_bad(routes_issues *is, const char *fmt, ...)
{
    if (is->bad[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(is->bad, sizeof is->bad, fmt, ap);
    va_end(ap);
}

/* The value at p, or NULL after noting why: an absent or null name is missing, a step
 * through something that is not an object is bad. */
static json_t *path_get(json_t *root, const routes_path *p, routes_issues *is)
{
    json_t *cur = root;
    size_t plen = 0;
    for (size_t i = 0; i < p->nsegs; i++) {
        if (!json_is_object(cur)) {
            issue_bad(is, "%.*s is %s, not an object", (int)plen, p->text, kind_of(cur));
            return NULL;
        }
        plen += (i ? 1 : 0) + strlen(p->segs[i]);
        cur = json_object_get(cur, p->segs[i]);
        if (!cur || json_is_null(cur)) {
            issue_missing(is, p->text, plen);
            return NULL;
        }
    }
    return cur;
}

/* Appends the id v to b: a non-empty string without control characters, or an integer. */
static int id_add(routes_buf *b, json_t *v, const char *name, routes_issues *is)
{
    if (json_is_integer(v)) {
        char num[32];
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        buf_adds(b, num);
        return 0;
    }
    if (!json_is_string(v))
        issue_bad(is, "%s is %s, not a string or integer", name, kind_of(v));
    else if (json_string_length(v) == 0)
        issue_bad(is, "%s is an empty string", name);
    else if (has_ctl(json_string_value(v), json_string_length(v)))
        issue_bad(is, "%s has a control character", name);
    else if (json_string_length(v) > RC_ROUTES_ROOM_MAX)
        issue_bad(is, "%s is longer than a room may be (%d bytes)", name, RC_ROUTES_ROOM_MAX);
    else {
        buf_add(b, json_string_value(v), json_string_length(v));
        return 0;
    }
    return -1;
}

/* Adds the room in b to out's unless it is there already. */
static void rooms_add(rc_routed *out, const routes_buf *b, const routes_tpl *t, routes_issues *is)
{
    if (b->len > RC_ROUTES_ROOM_MAX) {
        issue_bad(is, "the room from \"%s\" is longer than %d bytes", t->text, RC_ROUTES_ROOM_MAX);
        return;
    }
    for (size_t i = 0; i < out->nrooms; i++)
        if (strcmp(out->rooms[i], b->p) == 0)
            return;
    if (out->nrooms == ROUTES_ROOMS_MAX) {
        issue_bad(is, "more than %d rooms", ROUTES_ROOMS_MAX);
        return;
    }
    out->rooms = rc_realloc(out->rooms, (out->nrooms + 1) * sizeof *out->rooms);
    out->rooms[out->nrooms++] = rc_strdup(b->p);
}

/* Resolves every placeholder of t, then makes one room, or one per list element. */
static void tpl_render(const routes_tpl *t, json_t *root, rc_routed *out, routes_issues *is)
{
    json_t **vals = rc_calloc(t->nparts, sizeof *vals);
    json_t *list = NULL;
    int ok = 1;
    for (size_t i = 0; i < t->nparts; i++) {
        const routes_part *pt = &t->parts[i];
        if (pt->path.nsegs == 0)
            continue;
        vals[i] = path_get(root, &pt->path, is);
        if (!vals[i])
            ok = 0;
        else if (pt->is_list && !json_is_array(vals[i])) {
            issue_bad(is, "%s is %s, not a list", pt->path.text, kind_of(vals[i]));
            ok = 0;
        } else if (pt->is_list && json_array_size(vals[i]) > ROUTES_ROOMS_MAX) {
            issue_bad(is, "%s has more than %d elements", pt->path.text, ROUTES_ROOMS_MAX);
            ok = 0;
        } else if (pt->is_list) {
            list = vals[i];
        }
    }
    size_t count = list ? json_array_size(list) : 1;
    if (ok && list && count == 0)
        is->empty_list = t->text;
    for (size_t e = 0; ok && e < count; e++) {
        routes_buf b = {0};
        for (size_t i = 0; ok && i < t->nparts; i++) {
            const routes_part *pt = &t->parts[i];
            buf_adds(&b, pt->lit);
            if (pt->path.nsegs == 0)
                continue;
            char name[RC_ROUTES_ROOM_MAX + 32];
            snprintf(name, sizeof name, pt->is_list ? "%s[%zu]" : "%s", pt->path.text, e);
            json_t *v = pt->is_list ? json_array_get(list, e) : vals[i];
            ok = id_add(&b, v, name, is) == 0;
        }
        if (ok)
            rooms_add(out, &b, t, is);
        rc_free(b.p);
        ok = ok && !is->bad[0];
    }
    rc_free(vals);
}

/* Notes delivered fields that are absent; a single payload field must be an object. */
static void payload_check(const routes_route *rt, json_t *root, routes_issues *is)
{
    for (size_t i = 0; i < rt->nfields; i++) {
        const char *f = rt->fields[i];
        json_t *v = json_object_get(root, f);
        if (!v || (rt->payload_single && json_is_null(v)))
            issue_missing(is, f, strlen(f));
        else if (rt->payload_single && !json_is_object(v))
            issue_bad(is, "%s is %s, not an object", f, kind_of(v));
    }
}

/* ---- applying: the entry point ------------------------------------------------------- */

/* Fills why with one printable ASCII line: it ends up in logs and Kafka headers, and the
 * type and jansson's messages come from untrusted bytes. Returns rc. */
static int why_set(char *why, size_t whylen, int rc, const char *fmt, ...)
{
    if (!why || whylen == 0)
        return rc;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    for (char *c = why; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
            *c = '?';
    return rc;
}

/* Turns what went wrong into a result and a reason; RC_ROUTE_OK when nothing did. */
static int issues_result(const routes_issues *is, size_t nrooms, const char *type, char *why,
                         size_t whylen)
{
    if (is->nmissing) {
        routes_buf b = {0};
        for (size_t i = 0; i < is->nmissing; i++) {
            buf_adds(&b, i ? ", " : "");
            buf_adds(&b, is->missing[i]);
        }
        int rc = why_set(why, whylen, RC_ROUTE_MISSING_FIELD, "%.128s: missing %s%s%s", type,
                         b.p, is->bad[0] ? "; " : "", is->bad);
        rc_free(b.p);
        return rc;
    }
    if (is->bad[0])
        return why_set(why, whylen, RC_ROUTE_BAD_FIELD, "%.128s: %s", type, is->bad);
    if (nrooms == 0)
        return why_set(why, whylen, RC_ROUTE_BAD_FIELD,
                       "%.128s: no room to deliver to (\"%s\" is empty)", type,
                       is->empty_list ? is->empty_list : "");
    return RC_ROUTE_OK;
}

static int route_eval(const routes_route *rt, json_t *root, const char *payload, size_t len,
                      rc_routed *out, char *why, size_t whylen)
{
    routes_issues is = {0};
    routes_buf args = {0};

    payload_check(rt, root, &is);
    for (size_t i = 0; i < rt->nrooms; i++)
        tpl_render(&rt->rooms[i], root, out, &is);
    int rc = issues_result(&is, out->nrooms, rt->type, why, whylen);
    if (rc == RC_ROUTE_OK && args_build(rt, payload, len, &args) < 0)
        rc = why_set(why, whylen, RC_ROUTE_BAD_JSON, "%s: payload fields not found in its bytes",
                     rt->type);
    out->event = rc_strdup(rt->event);
    out->args_json = args.p;
    if (rc != RC_ROUTE_OK)
        rc_routed_clear(out);
    for (size_t i = 0; i < is.nmissing; i++)
        rc_free(is.missing[i]);
    rc_free(is.missing);
    return rc;
}

int rc_routes_apply(const rc_routes *r, const char *type, const char *payload_json, size_t len,
                    rc_routed *out, char *why, size_t whylen)
{
    json_error_t jerr;

    memset(out, 0, sizeof *out);
    if (why && whylen)
        why[0] = '\0';
    const routes_route *rt = route_find(r, type);
    if (!rt)
        return why_set(why, whylen, RC_ROUTE_NO_ROUTE, "%.128s: no route for this type", type);
    /* A raw NUL is never JSON, yet jansson lets one pass after a number, where the byte
     * scanner would keep it as part of the value: refuse it before either looks. */
    if (memchr(payload_json, '\0', len))
        return why_set(why, whylen, RC_ROUTE_BAD_JSON, "%s: payload is not JSON: a NUL byte",
                       type);
    /* NUL escapes are fine inside delivered strings; id_add refuses them in room names. */
    json_t *root = json_loadb(payload_json, len,
                              JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!root)
        return why_set(why, whylen, RC_ROUTE_BAD_JSON, "%s: payload is not JSON: %s", type,
                       jerr.text);
    int rc;
    if (!json_is_object(root))
        rc = why_set(why, whylen, RC_ROUTE_BAD_JSON, "%s: payload is %s, not a JSON object", type,
                     kind_of(root));
    else
        rc = route_eval(rt, root, payload_json, len, out, why, whylen);
    json_decref(root);
    return rc;
}

void rc_routed_clear(rc_routed *x)
{
    for (size_t i = 0; i < x->nrooms; i++)
        rc_free(x->rooms[i]);
    rc_free(x->rooms);
    rc_free(x->event);
    rc_free(x->args_json);
    memset(x, 0, sizeof *x);
}

/* ---- describing ---------------------------------------------------------------------- */

/* Appends item to the ", " list in b unless seen (newline-framed items) holds it. */
static void list_once(routes_buf *b, routes_buf *seen, const char *item)
{
    char key[RC_ROUTES_ROOM_MAX + 8];
    snprintf(key, sizeof key, "\n%s\n", item);
    if (seen->p && strstr(seen->p, key))
        return;
    buf_adds(seen, key);
    buf_adds(b, b->len ? ", " : "");
    buf_adds(b, item);
}

/* Whether two nested paths have the same parent ("message" of "message.chatId"). */
static int same_parent(const routes_part *a, const routes_part *b)
{
    size_t n = (size_t)(strrchr(a->path.text, '.') - a->path.text);
    return strrchr(b->path.text, '.') == b->path.text + n &&
           strncmp(a->path.text, b->path.text, n) == 0;
}

/* Appends "; parent has a, b[]" for nested[i] unless an earlier entry had its parent. */
static void describe_group(routes_buf *out, const routes_part **nested, size_t nn, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (same_parent(nested[j], nested[i]))
            return;
    buf_adds(out, out->p[out->len - 1] == '}' ? " (" : "; ");
    buf_add(out, nested[i]->path.text,
            (size_t)(strrchr(nested[i]->path.text, '.') - nested[i]->path.text));
    buf_adds(out, " has ");
    routes_buf items = {0}, seen = {0};
    for (size_t j = i; j < nn; j++) {
        const routes_part *q = nested[j];
        if (!same_parent(q, nested[i]))
            continue;
        char child[RC_ROUTES_ROOM_MAX + 4];
        snprintf(child, sizeof child, "%s%s", q->path.segs[q->path.nsegs - 1],
                 q->is_list ? "[]" : "");
        list_once(&items, &seen, child);
    }
    buf_adds(out, items.p);
    rc_free(items.p);
    rc_free(seen.p);
}

int rc_routes_describe(const rc_routes *r, const char *type, char *buf, size_t len)
{
    const routes_route *rt = route_find(r, type);
    if (len)
        buf[0] = '\0';
    if (!rt)
        return RC_ENOENT;
    routes_buf top = {0}, seen = {0}, out = {0};
    const routes_part **nested = NULL;
    size_t nn = 0;
    for (size_t i = 0; i < rt->nfields; i++)
        list_once(&top, &seen, rt->fields[i]);
    for (size_t i = 0; i < rt->nrooms; i++)
        for (size_t j = 0; j < rt->rooms[i].nparts; j++) {
            const routes_part *pt = &rt->rooms[i].parts[j];
            if (pt->path.nsegs == 0)
                continue;
            list_once(&top, &seen, pt->path.segs[0]);
            if (pt->path.nsegs > 1) {
                nested = rc_realloc(nested, (nn + 1) * sizeof *nested);
                nested[nn++] = pt;
            }
        }
    buf_adds(&out, "{");
    buf_adds(&out, top.p ? top.p : "");
    buf_adds(&out, "}");
    for (size_t i = 0; i < nn; i++)
        describe_group(&out, nested, nn, i);
    buf_adds(&out, nn ? ")" : "");
    int n = snprintf(buf, len, "%s", out.p);
    rc_free(nested);
    rc_free(top.p);
    rc_free(seen.p);
    rc_free(out.p);
    return n < 0 || (size_t)n >= len ? RC_ETOOBIG : 0;
}
