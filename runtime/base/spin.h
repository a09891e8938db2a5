/* Bounded busy-waiting on the request path.
 *
 * A thread that sleeps while it waits for the next message of a
 * conversation (the client's next request on a kept-alive connection, the
 * answer of a call alone on its server) must be woken, and on a virtual
 * machine whose idle vCPUs halt that wake-up costs tens of microseconds,
 * more than the work of the whole call. Watching for a short while first
 * keeps the vCPU running. One thread at a time watches, only with two CPUs
 * or more (on one CPU it would only delay the peer it waits for), and only
 * when berth has not been busy lately (two requests or calls at once in
 * the last BERTH_SPIN_QUIET): under load the CPUs have better things to
 * do. While watches run, a keeper thread at the lowest priority keeps a
 * second CPU awake too, for the thread berth waits for to be woken on. */
#ifndef BERTH_SPIN_H
#define BERTH_SPIN_H

#include <apr_time.h>

#define BERTH_SPIN_QUIET (10 * 1000)

/* How long a watch lasts at most; 0 turns watching off. Without a call,
 * the config's default for http.spin_us. Machines with one CPU never watch. */
void berth_spin_configure(apr_interval_time_t budget);

/* Watches: calls SEEN(BATON) until it says 1 (what was waited for came, or
 * watching makes no more sense), as long as the budget lasts, when a watch
 * may start now. 1 when SEEN said so; 0 when it never did, or no watch
 * started: the caller then sleeps as it would have. */
int berth_spin_watch(int (*seen)(void *baton), void *baton);

/* Says that two requests or calls are in progress at once: nobody watches
 * for the next BERTH_SPIN_QUIET. */
void berth_spin_busy(void);

/* 1 while the keeper spins: a thread at the lowest priority that keeps a
 * second CPU from halting while watches run and for one budget after the
 * last (spin.c says why). */
int berth_spin_keeper_spinning(void);

/* Has the keeper, while it spins, run FN(BATON) (a write that wakes a
 * thread: woken from the keeper's CPU, which the scheduler counts as idle,
 * the thread runs there at once, where a wake-up sent to another vCPU
 * costs an interrupt). 1 when FN ran; 0 when the caller must run it (no
 * keeper spins, or it did not take the job within 20 us). */
int berth_spin_hand_off(void (*fn)(void *), void *baton);

#endif
