/* audit.c: which of the audited events each client received (see lg.h). With `rate R S
 * CHATS audit`, roomcast-kproduce sends event m<seq> to chat j = bench_chat_of(seq, CHATS)
 * (bench/chat.h), whose participants, users j and j+1 mod CHATS, are owed it once each:
 * through the chat room and their user rooms, a socket in several target rooms of one
 * event gets it once. This file records the seq of every event a client receives (the
 * "id":"m<seq>" of its payload) and, for a range of seqs, counts per client what it was
 * owed and never got (lost), got more than once (duplicated) or got unowed, split by what
 * became of the client (never dropped, recovered, not recovered, still down). */
#include <stdlib.h>
#include <string.h>

#include "bench/chat.h"
#include "bench/loadgen/lg.h"
#include "common/alloc.h"

typedef struct {
    uint32_t *v;
    uint32_t n, cap;
} lg_seqs;

static lg_seqs *S; /* by client idx */
static size_t Scap;

void lg_audit_on_event(uint32_t idx, const uint8_t *p, size_t n)
{
    const uint8_t *m = memmem(p, n, "\"id\":\"m", 7);
    if (!m)
        return;
    m += 7;
    uint64_t seq = 0;
    const uint8_t *d = m;
    while (d < p + n && *d >= '0' && *d <= '9')
        seq = seq * 10 + (uint64_t)(*d++ - '0');
    if (d == m || d >= p + n || *d != '"' || seq > UINT32_MAX)
        return;
    if (idx >= Scap) {
        size_t cap = Scap ? Scap : 1024;
        while (cap <= idx)
            cap *= 2;
        S = rc_realloc(S, cap * sizeof *S);
        memset(S + Scap, 0, (cap - Scap) * sizeof *S);
        Scap = cap;
    }
    lg_seqs *s = &S[idx];
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4;
        s->v = rc_realloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = (uint32_t)seq;
}

void lg_audit_track(void)
{
    for (size_t i = 0; i < Scap; i++)
        S[i].n = 0;
    printf("{\"type\":\"track\"}\n");
    fflush(stdout);
}

static int lg__cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct {
    uint64_t clients, owed, received, lost, duplicated, unexpected, with_loss, with_dup;
} lg_tally;

/* The seqs in [first, last] owed to each client, as a CSR: client i's are
 * owed[at[i] .. at[i+1]), ascending. */
static uint32_t *lg__owed(uint64_t first, uint64_t last, uint64_t chats, size_t **at_out)
{
    size_t n = G.used, *at = rc_calloc(n + 1, sizeof *at);
    uint64_t lo = (uint64_t)G.first, hi = lo + n;
    for (int pass = 0; pass < 2; pass++) {
        size_t *fill = pass ? rc_calloc(n, sizeof *fill) : NULL;
        uint32_t *owed = pass ? rc_malloc((at[n] + 1) * sizeof *owed) : NULL;
        for (uint64_t seq = first; seq <= last; seq++) {
            uint64_t j = bench_chat_of(seq, chats), users[2] = {j, (j + 1) % chats};
            for (int k = 0; k < 2; k++) {
                if (users[k] < lo || users[k] >= hi)
                    continue;
                size_t i = (size_t)(users[k] - lo);
                if (pass)
                    owed[at[i] + fill[i]++] = (uint32_t)seq;
                else
                    at[i + 1]++;
            }
        }
        if (pass) {
            rc_free(fill);
            *at_out = at;
            return owed;
        }
        for (size_t i = 0; i < n; i++)
            at[i + 1] += at[i];
    }
    return NULL;
}

/* One client: its received seqs in range against those owed (both sorted). */
static void lg__tally_client(lg_tally *t, lg_seqs *s, const uint32_t *owed, size_t nowed,
                             uint64_t first, uint64_t last)
{
    size_t ngot = 0;
    uint32_t *got = rc_malloc(((s ? s->n : 0) + 1) * sizeof *got);
    for (size_t k = 0; s && k < s->n; k++)
        if (s->v[k] >= first && s->v[k] <= last)
            got[ngot++] = s->v[k];
    if (ngot)
        qsort(got, ngot, sizeof *got, lg__cmp);
    uint64_t lost = 0, dup = 0, unexpected = 0;
    size_t a = 0, b = 0;
    while (a < nowed || b < ngot) {
        if (b < ngot && b > 0 && got[b] == got[b - 1]) {
            dup++;
            b++;
        } else if (b >= ngot || (a < nowed && owed[a] < got[b])) {
            lost++;
            a++;
        } else if (a >= nowed || got[b] < owed[a]) {
            unexpected++;
            b++;
        } else {
            a++;
            b++;
        }
    }
    rc_free(got);
    t->clients++;
    t->owed += nowed;
    t->received += ngot;
    t->lost += lost;
    t->duplicated += dup;
    t->unexpected += unexpected;
    t->with_loss += lost > 0;
    t->with_dup += dup > 0;
}

static void lg__tally_json(const char *name, const lg_tally *t, int comma)
{
    printf("%s\"%s\":{\"clients\":%llu,\"owed\":%llu,\"received\":%llu,\"lost\":%llu,"
           "\"duplicated\":%llu,\"unexpected\":%llu,\"clients_with_loss\":%llu,"
           "\"clients_with_duplicates\":%llu}",
           comma ? "," : "", name, (unsigned long long)t->clients, (unsigned long long)t->owed,
           (unsigned long long)t->received, (unsigned long long)t->lost,
           (unsigned long long)t->duplicated, (unsigned long long)t->unexpected,
           (unsigned long long)t->with_loss, (unsigned long long)t->with_dup);
}

void lg_audit_print(uint64_t first, uint64_t last, uint64_t chats)
{
    static const char *const names[] = {"never_dropped", "recovered", "not_recovered", "down"};
    size_t *at = NULL;
    uint32_t *owed = lg__owed(first, last, chats, &at);
    lg_tally all = {0}, by[4] = {{0}};
    for (size_t i = 0; i < G.used; i++) {
        if (G.conns[i]->state != S_READY && lg_resume_outcome((uint32_t)i) == LG_NEVER_DROPPED)
            continue; /* never connected: nobody to owe */
        lg_tally one = {0};
        lg__tally_client(&one, i < Scap ? &S[i] : NULL, owed + at[i], at[i + 1] - at[i], first,
                         last);
        lg_tally *sums[2] = {&all, &by[lg_resume_outcome((uint32_t)i)]};
        for (int k = 0; k < 2; k++) {
            sums[k]->clients += one.clients;
            sums[k]->owed += one.owed;
            sums[k]->received += one.received;
            sums[k]->lost += one.lost;
            sums[k]->duplicated += one.duplicated;
            sums[k]->unexpected += one.unexpected;
            sums[k]->with_loss += one.with_loss;
            sums[k]->with_dup += one.with_dup;
        }
    }
    printf("{\"type\":\"audit\",\"first\":%llu,\"last\":%llu,\"chats\":%llu,",
           (unsigned long long)first, (unsigned long long)last, (unsigned long long)chats);
    lg__tally_json("all", &all, 0);
    printf(",\"by_outcome\":{");
    for (int k = 0; k < 4; k++)
        lg__tally_json(names[k], &by[k], k > 0);
    printf("}}\n");
    fflush(stdout);
    rc_free(owed);
    rc_free(at);
}

void lg_audit_free(void)
{
    for (size_t i = 0; i < Scap; i++)
        rc_free(S[i].v);
    rc_free(S);
    S = NULL;
    Scap = 0;
}
