/*
 * Nested cVMs (README "Nested cVMs"): an inner cVM (callback_out: OUTER)
 * lies inside its outer's range; the outer sees and changes the inner's
 * memory (both map one memfd there), the inner cannot reach the outer's
 * (another process).  Every hostcall of the inner reaches the monitor as
 * any other, and the inner's server relays it to the outer's
 * syscall_handler through the outer's nest page (plan.h), waits for the
 * value (bounded) and answers with it.  Hostcalls 700-702 tell either side
 * about the nesting.
 */
#ifndef IV_NESTED_FEATURE_H
#define IV_NESTED_FEATURE_H

#include "iv.h"

/* How long an inner's hostcall waits for its outer without a call_timeout (ms). */
#define IV_NEST_TIMEOUT_MS 10000

extern struct iv_feature iv_feature_nested;

#endif
