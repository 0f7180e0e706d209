/*
 * Cap streams and cap calls between cVMs: what the monitor and the SDK
 * agree on.  A channel is memory the monitor makes (a sealed memfd) and
 * hands to the cVM that advertises it (the receiver of a stream, the
 * callee of a call) and to every cVM that probes it; after that the
 * monitor is not on the data path: the cVMs move data through that memory
 * and wake each other with futexes on it.  The monitor writes it only when
 * a cVM holding it ends (docs/ARCHITECTURE.md "Cap streams", "Cap calls").
 *
 * The memory is a control page (struct iv_chan_page) followed by the data
 * area.  Every cVM holding the channel can write all of it: each side
 * trusts nothing it reads there but what the protocol lets the other side
 * decide (a length is checked against the size the monitor gave it).
 */
#ifndef IV_CHANNEL_H
#define IV_CHANNEL_H

#define IV_CHAN_STREAM 1
#define IV_CHAN_CALL   2

#define IV_CHAN_PAGE 4096 /* the control page; the data area follows */

/* What 409 and 410 fill in (the advertiser gives kind and size). */
struct iv_chan_info {
	unsigned int kind;	 /* IV_CHAN_STREAM or IV_CHAN_CALL */
	unsigned int token;	 /* this holder's, nonzero for a prober (below) */
	unsigned long size;	 /* bytes of the data area */
	unsigned int timeout_ms; /* how long this cVM's calls wait (its call_timeout) */
	unsigned int pad;
};

/* Stream states (state): */
#define IV_CS_IDLE    0 /* no buffer registered */
#define IV_CS_READY   1 /* the receiver registered [off, off + len) of the data area */
#define IV_CS_FULL    2 /* a write landed there: msg bytes */
#define IV_CS_BROKEN  3 /* a writer ended while it was copying */
#define IV_CS_HUP     4 /* READY, and the monitor saw the last writer end (writers, hup) */
#define IV_CS_CLAIMED 0x80000000u /* | the writer's token: it is copying */

/* Calls: the caller posts request seq (seq + 1, modulo IV_CC_SEQ_MASK + 1)
 * and the callee, which sleeps on seq, runs it and sets done_seq to it
 * with its value in ret; the caller sleeps on done_seq.  The callee is
 * busy while done_seq differs from seq (a call whose caller gave up may
 * still run: the next caller waits for its end). */
#define IV_CC_SEQ_MASK 0x7fffffffu
/* Added to done_seq by the monitor when the callee has ended: a call it
 * finished just before still has its value. */
#define IV_CC_DEAD 0x80000000u

/* Added to state by the monitor when the advertiser has ended (for a
 * call: to done_seq, and to state too): the state it had stays readable. */
#define IV_CHAN_DEAD 0x40000000u
/* A prober's token fits below both flags. */
#define IV_CHAN_TOKEN_MASK 0x3fffffffu

struct iv_chan_page {
	unsigned int kind; /* set by the monitor */
	unsigned int pad0;
	/* Set by the monitor: */
	unsigned int writers; /* stream: cVMs holding it by probe, alive */
	unsigned int hup;     /* stream: how many of them have ended */
	/* The CPU (+ 1; 0: not yet known) each side last waited on, [0] the
	 * advertiser's, [1] a prober's: a waiter whose other side is on its
	 * own CPU does not spin (that side cannot run meanwhile). */
	unsigned int cpu[2];
	unsigned char pad1[40];

	/* stream: the futex word both sides wait on, and its sleepers */
	unsigned int state;
	unsigned int waiters;
	unsigned char pad2[56];
	/* stream: the registered buffer (receiver), what landed (writer) */
	unsigned long off, len, msg;
	unsigned char pad3[40];

	/* call: the caller holding the channel (its token; a futex word) and
	 * the callers waiting for it */
	unsigned int lock, lock_waiters;
	unsigned char pad4[56];
	/* call: the request the caller posted (the callee sleeps on it), its
	 * argument's length */
	unsigned int seq, callee_waiters;
	unsigned long arg;
	unsigned char pad5[48];
	/* call: the request the callee finished (the caller sleeps on it),
	 * its value */
	unsigned int done_seq, caller_waiters;
	long ret;
};

#endif
