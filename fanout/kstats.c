/* kstats.c: the few fields of librdkafka's statistics the fanout reads (see kstats.h). */
#include "fanout/kstats.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/rc.h"

static int64_t kstats__int(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

static int kstats__brokers_up(json_t *root)
{
    int up = 0;
    const char *name;
    json_t *b;
    json_object_foreach(json_object_get(root, "brokers"), name, b)
    {
        const char *state = json_string_value(json_object_get(b, "state"));
        up += state && strcmp(state, "UP") == 0;
    }
    return up;
}

static void kstats__partitions(json_t *root, fanout_kstats_partition_fn fn, void *ctx)
{
    const char *tname, *pname;
    json_t *t, *p;
    json_object_foreach(json_object_get(root, "topics"), tname, t)
    {
        json_object_foreach(json_object_get(t, "partitions"), pname, p)
        {
            int64_t id = kstats__int(p, "partition");
            /* librdkafka lists an internal "-1" partition for messages not yet placed. */
            if (id < 0 || id > INT32_MAX)
                continue;
            fn(ctx, tname, (int32_t)id, kstats__int(p, "ls_offset"), kstats__int(p, "hi_offset"),
               kstats__int(p, "committed_offset"));
        }
    }
}

int fanout_kstats_parse(const char *json, size_t len, fanout_kstats_partition_fn fn, void *ctx)
{
    json_t *root = json_loadb(json, len, 0, NULL);
    if (!json_is_object(root) || !json_is_object(json_object_get(root, "brokers"))) {
        json_decref(root);
        return RC_EINVAL;
    }
    int up = kstats__brokers_up(root);
    if (fn)
        kstats__partitions(root, fn, ctx);
    json_decref(root);
    return up;
}
