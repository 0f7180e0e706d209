/*
 * Cap streams and cap calls: channels between cVMs (sdk/include/
 * iv_channel.h).  The monitor makes a channel's memory when a cVM
 * advertises a key (409) and hands it to every cVM that probes the key
 * (410) and may use it (access); the cVMs do the rest themselves (the
 * SDK, sdk/crt/ipc.c).  The monitor comes back only when a cVM holding a
 * channel ends: it marks what that breaks and wakes whoever waits.
 */
#ifndef IV_CHANNEL_FEATURE_H
#define IV_CHANNEL_FEATURE_H

#include "iv.h"

/* How long a cVM's cap calls wait without a call_timeout (ms). */
#define IV_CALL_TIMEOUT_MS 5000

extern struct iv_feature iv_feature_channel;

#endif
