/* chat.h: which chat the benchmark's audited traffic sends event m<seq> to, shared by the
 * producer (bench/kproduce.c, `rate ... audit`) and the load generator (bench/loadgen/
 * audit.c), so the load generator knows, without being told, which events each of its
 * clients is owed: chat j's participants are users j and j+1 mod chats. Header-only
 * because every bench/ .c file becomes its own binary. */
#ifndef RC_BENCH_CHAT_H
#define RC_BENCH_CHAT_H

#include <stdint.h>

/* splitmix64's finalizer: consecutive seqs land on unrelated chats. */
static inline uint64_t bench_mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static inline uint64_t bench_chat_of(uint64_t seq, uint64_t chats)
{
    return bench_mix64(seq) % chats;
}

#endif
