/*
 * Messages of the cross-cVM integrity tests (tests/posix/ipc.c,
 * tests/cvm/ipc.c): a message of len >= 16 bytes is its sequence number
 * and a seed (8 bytes each), then len - 16 bytes drawn from the seed.
 * Both sides fold every byte they sent or took into an FNV-1a checksum.
 * No libc: freestanding cVMs include it too.
 */
#ifndef IPC_MSG_H
#define IPC_MSG_H

#define MSG_MIN 16

static unsigned long msg_rand(unsigned long *s)
{
	unsigned long x = *s ? *s : 0x9e3779b97f4a7c15UL;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static void msg_fill(unsigned char *m, unsigned long len, unsigned long seq, unsigned long seed)
{
	unsigned long s = seed;
	for (int i = 0; i < 8; i++) {
		m[i] = (unsigned char)(seq >> (8 * i));
		m[8 + i] = (unsigned char)(seed >> (8 * i));
	}
	for (unsigned long i = MSG_MIN; i < len; i += 8) {
		unsigned long r = msg_rand(&s);
		for (unsigned long j = 0; j < 8 && i + j < len; j++)
			m[i + j] = (unsigned char)(r >> (8 * j));
	}
}

/* 0 when m (len bytes) is message seq, else the offset of the first wrong byte + 1. */
static unsigned long msg_check(const unsigned char *m, unsigned long len, unsigned long seq)
{
	unsigned long seed = 0, s, got_seq = 0;
	if (len < MSG_MIN)
		return 1;
	for (int i = 0; i < 8; i++) {
		got_seq |= (unsigned long)m[i] << (8 * i);
		seed |= (unsigned long)m[8 + i] << (8 * i);
	}
	if (got_seq != seq)
		return 1;
	s = seed;
	for (unsigned long i = MSG_MIN; i < len; i += 8) {
		unsigned long r = msg_rand(&s);
		for (unsigned long j = 0; j < 8 && i + j < len; j++)
			if (m[i + j] != (unsigned char)(r >> (8 * j)))
				return i + j + 1;
	}
	return 0;
}

static unsigned long msg_fnv(unsigned long h, const unsigned char *m, unsigned long len)
{
	for (unsigned long i = 0; i < len; i++)
		h = (h ^ m[i]) * 0x100000001b3UL;
	return h;
}

#define MSG_FNV_INIT 0xcbf29ce484222325UL

#endif
