/* admin_thread.h: common/admin.h's HTTP endpoint on a thread of its own with its own
 * event_base, so a scrape or a health check never waits for a Kafka call on the main
 * thread, and a slow scraper never delays a transaction. The thread blocks every signal:
 * SIGTERM and SIGINT are the main thread's.
 *
 * Ownership: the thread borrows reg and the readiness context, which must outlive
 * fanout_admin_stop. */
#ifndef FANOUT_ADMIN_THREAD_H
#define FANOUT_ADMIN_THREAD_H

#include <stddef.h>

#include "common/admin.h"

typedef struct fanout_admin fanout_admin;

/* Binds addr on the calling thread (so a bad address is reported at start), then serves
 * on a new thread. Returns 0, or RC_EIO with errstr set. */
int fanout_admin_start(const rc_addr *addr, rc_metrics *reg, rc_admin_ready_fn ready, void *ctx,
                       fanout_admin **out, char *errstr, size_t errlen);
int fanout_admin_port(const fanout_admin *a);
/* Stops the loop, joins the thread and frees everything. NULL is ignored. */
void fanout_admin_stop(fanout_admin *a);

#endif
