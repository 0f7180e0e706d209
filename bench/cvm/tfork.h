/*
 * tfork.h - what bench/cvm/tfork_heap.c leaves in cap file "bench_tfork"
 * for bench/tfork to read back.  Shared by the host program and the
 * freestanding cVM, so fixed-size types only.
 *
 * The cap holds TFORK_SLOTS slots; every cVM of one monitor run writes the
 * slot its args name (slot 0: the template, by convention).
 */
#ifndef BENCH_TFORK_H
#define BENCH_TFORK_H

#include <stdint.h>

#define TFORK_CAP	   "bench_tfork"
#define TFORK_CAP_SIZE	   4096
#define TFORK_MAGIC	   0x314b524f46544256ULL /* "VBTFORK1": the slot is complete */
#define TFORK_HEAP_MAX_MIB 1024
#define TFORK_WORD_MUL	   2654435761ULL /* word i of the heap holds i * this */

/*
 * Args of the cVM, "MODE SLOT MIB N", all four always present (and REST):
 *   tpl  SLOT MIB 0   a template: fills MIB MiB of heap, then host_save()
 *   time SLOT MIB PCT fills MIB MiB (unless a fork: host_inspect() == 0),
 *                     host_save(), then notes the time, writes one word in
 *                     PCT percent of the heap's pages (evenly spread),
 *                     notes the time again and exits: as a plain cVM the
 *                     cold start, as a fork the fork (a fork reused for
 *                     several runs does this in each, with each run's args)
 *   time SLOT MIB PCT REST  the same, resting REST ms before it exits (room
 *                     for the monitor to make the next cVM's cell ahead)
 *   ro   SLOT 0   MS  a fork that reads the whole heap, says so, sleeps
 *                     MS ms (host_nanosleep) and exits
 * After host_save a fork reads its own args (host_get_arg): the template's
 * MODE and MIB mean nothing to it.
 */
enum tfork_error {
	TFORK_OK = 0,
	TFORK_ERR_ARGS = 1,   /* args not as above */
	TFORK_ERR_SAVE = 2,   /* host_save() returned an error */
	TFORK_ERR_NOHEAP = 3, /* a fork found no initialised heap */
};

struct tfork_slot {
	uint64_t magic;	   /* TFORK_MAGIC once everything below is written */
	uint64_t error;	   /* enum tfork_error */
	uint64_t t_first;  /* CLOCK_MONOTONIC ns: first action (not in a fork) */
	uint64_t t_filled; /* the heap is filled, host_save() is next (not in a fork) */
	uint64_t t_after;  /* the first action after host_save() returned */
	uint64_t t_end;	   /* time: the pages written, host_exit() next; ro: the heap is read */
	uint64_t heap_len; /* bytes of initialised heap this cVM sees */
	uint64_t sum;	   /* ro: the sum of every 64-bit word of that heap */
};

#define TFORK_SLOTS (TFORK_CAP_SIZE / sizeof(struct tfork_slot))

_Static_assert(sizeof(struct tfork_slot) == 64, "one slot per cache line");

#endif
