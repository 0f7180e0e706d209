/*
 * Hostcall numbers: the seed's HC_NUM.  A hostcall is the syscall
 * instruction with rax = IV_HC_BASE + number, arguments in rdi, rsi, rdx,
 * r10, r8, r9 and the result (or -errno) in rax.  Outside a cVM the same
 * instruction returns -ENOSYS.
 */
#ifndef IV_HOSTCALLS_H
#define IV_HOSTCALLS_H

#define IV_HC_BASE 0x2000

#define HC_WRITE   1   /* (buf, len) -> len: the cVM's console */
#define HC_EXIT	   13  /* (code): ends the cVM */
#define HC_INSPECT 114 /* () -> 1 from scratch, 0 in a fork */
#define HC_SAVE	   115 /* () -> 0, or IV_SAVE_RESTORED: see host_save */
#define HC_GET_ARG 116 /* (buf, size) -> strlen(args); copies args, NUL-terminated */
#define HC_FORKED  117 /* () -> threads to recreate: a restored cVM announces itself */
#define HC_THREAD_FRAME                                                                            \
	118 /* (i, long bases[2]) -> stack pointer of thread i's signal frame; FS, GS base */
#define HC_NANOSLEEP	  200 /* (const struct timespec *req, struct timespec *rem) */
#define HC_MAKE_CALL	  403 /* the SDK's host_make_call: no monitor call */
#define HC_CF_ADV	  405 /* (ptr, size, key, names) -> fd; ptr page-aligned */
#define HC_CF_PRB	  406 /* (key, void **location, long *size) -> fd */
#define HC_CAP_WAIT	  407 /* 407, 408, 411-413: the SDK's, on shared memory (no monitor call) */
#define HC_CAP_WAKE	  408
#define HC_CS_ADV	  409 /* (key, struct iv_chan_info *, names) -> fd: iv_channel.h */
#define HC_CS_PRB	  410 /* (key, struct iv_chan_info *) -> fd */
#define HC_MAKE_CAP_CALL  411
#define HC_FIN_CAP_CALL	  412
#define HC_FETCH_CAP_CALL 413
#define HC_GET_MY_INNER	  700 /* (i, struct iv_inner *out) -> 0: an outer's i-th inner's range */
#define HC_SYSCALL_HANDLER_PRB                                                                     \
	701 /* (key) -> 0 when the cVM named key (or its runtime) serves the caller, or -ENOENT */
#define HC_GET_SC_CAPS	  702 /* () -> who serves the caller: 0 the monitor, 1 an outer cVM */
#define HC_GETTIMEOFDAY	  800 /* (struct timeval *, struct timezone *) */
#define HC_OPEN		  802 /* ("/cap/KEY", flags) -> handle */
#define HC_READ		  803 /* (handle, buf, len) -> bytes */
#define HC_WRITE_FILE	  804 /* (handle, buf, len) -> bytes */
#define HC_LSEEK	  805 /* (handle, offset, whence) -> offset */
#define HC_CLOSE	  806 /* (handle) */

/* What HC_SAVE answers a cell restored from an image (host_save recreates
 * its threads); a template and its forks get 0. */
#define IV_SAVE_RESTORED 3

#endif
