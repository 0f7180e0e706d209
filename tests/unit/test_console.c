/*
 * Unit tests of the console filter (iv_cvm_console in src/core/cvm.c):
 * valid text passes unchanged; NUL shows nothing; other C0 controls, DEL, invalid UTF-8, C1
 * controls and bidirectional controls are shown as visible escapes; the
 * output is the same however the input is cut into writes.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "iv.h"

static struct iv_cvm_cfg vcfg = {.name = "c"};
static struct iv_cvm vm;
static char out[1 << 16];

static void reset(void)
{
	memset(&vm, 0, sizeof(vm));
	vm.cfg = &vcfg;
	pthread_mutex_init(&vm.lock, NULL);
}

/* What the console prints for input fed in pieces of at most step bytes
 * (the first piece cut at first, when first > 0), then flushed. */
static const char *feed(const char *in, size_t len, size_t first, size_t step)
{
	reset();
	fflush(stdout);
	FILE *tmp = tmpfile();
	int saved = dup(1);
	if (!tmp || saved < 0 || dup2(fileno(tmp), 1) < 0)
		abort();
	size_t i = 0;
	if (first && first <= len) {
		iv_cvm_console(&vm, in, first);
		i = first;
	}
	for (; i < len; i += step)
		iv_cvm_console(&vm, in + i, len - i < step ? len - i : step);
	iv_cvm_console_flush(&vm);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	size_t n = (size_t)ftell(tmp);
	rewind(tmp);
	if (n >= sizeof(out) || fread(out, 1, n, tmp) != n)
		abort();
	out[n] = 0;
	fclose(tmp);
	return out;
}

static const char *whole(const char *in)
{
	return feed(in, strlen(in), 0, strlen(in) + 1);
}

/* An independent check of the output: valid UTF-8, no control character
 * but tab and newline, no C1 or bidirectional control, no line separator. */
static const char *unsafe(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned c = *p, cp, n;
		if (c < 0x80) {
			if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
				return (const char *)p;
			p++;
			continue;
		}
		n = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
		if (!n || c > 0xf4)
			return (const char *)p;
		cp = c & (0x3f >> n);
		for (unsigned i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return (const char *)p;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		static const unsigned min[] = {0, 0x80, 0x800, 0x10000};
		if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
		    (cp >= 0x80 && cp <= 0x9f) || cp == 0x61c || cp == 0x200e || cp == 0x200f ||
		    (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
			return (const char *)p;
		p += n + 1;
	}
	return NULL;
}

#define EXPECT_SHOWN(in, want)                                                                     \
	do {                                                                                       \
		const char *got_ = whole(in);                                                      \
		EXPECT(!strcmp(got_, (want)), "expected %s to print \"%s\", got \"%s\"", #in,      \
		       (want), got_);                                                              \
	} while (0)

static int valid_text_passes_unchanged(void)
{
	EXPECT_SHOWN("h\xc3\xa9llo w\xc3\xb6rld\n", "[c] h\xc3\xa9llo w\xc3\xb6rld\n");
	EXPECT_SHOWN("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x98\x80 a\tb\n",
		     "[c] \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x98\x80 a\tb\n");
	/* the edges of the valid ranges: U+00A0, U+07FF, U+0800, U+FFFD, U+10000, U+10FFFF */
	EXPECT_SHOWN(
		"\xc2\xa0\xdf\xbf\xe0\xa0\x80\xef\xbf\xbd\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\n",
		"[c] \xc2\xa0\xdf\xbf\xe0\xa0\x80\xef\xbf\xbd\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\n");
	return 1;
}

static int c0_controls_and_del_are_escaped(void)
{
	EXPECT_SHOWN("a\rb\x1b[2K\x07\x7f\x01\n", "[c] a\\x0db\\x1b[2K\\x07\\x7f\\x01\n");
	EXPECT_SHOWN("\x1b]0;title\x07\n", "[c] \\x1b]0;title\\x07\n");
	return 1;
}

static int c1_controls_are_escaped_raw_and_encoded(void)
{
	EXPECT_SHOWN("[\x9b"
		     "31m]\n",
		     "[c] [\\x9b31m]\n");
	EXPECT_SHOWN("[\xc2\x9b"
		     "31m] [\xc2\x80] [\xc2\x9f] [\xc2\x85]\n",
		     "[c] [\\u009b31m] [\\u0080] [\\u009f] [\\u0085]\n");
	return 1;
}

static int bidi_controls_are_escaped(void)
{
	EXPECT_SHOWN("[\xe2\x80\xae"
		     "fdp.exe]\n",
		     "[c] [\\u202efdp.exe]\n");
	EXPECT_SHOWN(
		"\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad\xe2\x81\xa6\xe2\x81\xa7\xe2"
		"\x81\xa8\xe2\x81\xa9\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c\xe2\x80\xa8\xe2\x80\xa9\n",
		"[c] \\u202a\\u202b\\u202c\\u202d\\u2066\\u2067\\u2068\\u2069\\u200e\\u200f"
		"\\u061c\\u2028\\u2029\n");
	return 1;
}

static int invalid_utf8_is_escaped_byte_by_byte(void)
{
	/* overlong '/', a surrogate, beyond U+10FFFF, a lead without its
	 * continuation, a stray continuation, 0xff, a cut sequence */
	EXPECT_SHOWN(
		"[\xc0\xaf] [\xed\xa0\x80] [\xf4\x90\x80\x80] [\xe2(] [\xa9] [\xff] [\xe2\x80]\n",
		"[c] [\\xc0\\xaf] [\\xed\\xa0\\x80] [\\xf4\\x90\\x80\\x80] [\\xe2(] [\\xa9] "
		"[\\xff] [\\xe2\\x80]\n");
	return 1;
}

static int a_character_cut_by_the_end_is_escaped_at_flush(void)
{
	EXPECT_SHOWN("tail \xe2\x80", "[c] tail \\xe2\\x80\n");
	EXPECT_SHOWN("tail \xf0", "[c] tail \\xf0\n");
	return 1;
}

static int every_cut_into_writes_gives_the_same_output(void)
{
	static const char in[] = "h\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80 [\x9b] [\xc2\x9b] "
				 "[\xe2\x80\xae] [\xe2\x80] [\xc0\xaf]\r\x1b\n\xf0\x9f\x98\n\xc2";
	size_t len = sizeof(in) - 1;
	static char want[4096];
	snprintf(want, sizeof(want), "%s", feed(in, len, 0, len));
	EXPECT(!unsafe(want), "the output itself is unsafe: %.400s", want);
	for (size_t cut = 1; cut < len; cut++) {
		const char *got = feed(in, len, cut, len);
		EXPECT(!strcmp(got, want), "cut at %zu: expected \"%.300s\", got \"%.300s\"", cut,
		       want, got);
	}
	for (size_t step = 1; step <= 4; step++) {
		const char *got = feed(in, len, 0, step);
		EXPECT(!strcmp(got, want), "in writes of %zu: expected \"%.300s\", got \"%.300s\"",
		       step, want, got);
	}
	return 1;
}

static int no_byte_or_character_passes_unsafe(void)
{
	static char in[8192];
	/* every single byte between text */
	for (unsigned c = 1; c < 256; c++) {
		snprintf(in, sizeof(in), "a%cb", (char)c);
		const char *bad = unsafe(whole(in));
		EXPECT(!bad, "byte 0x%02x printed unsafe text at \"%s\"", c, bad);
	}
	/* every two- and three-byte character (U+0080..U+FFFF), 1024 a write */
	for (unsigned lo = 0x80; lo < 0x10000; lo += 1024) {
		size_t n = 0;
		for (unsigned cp = lo; cp < lo + 1024 && cp < 0x10000; cp++) {
			if (cp < 0x800) {
				in[n++] = (char)(0xc0 | cp >> 6);
			} else {
				in[n++] = (char)(0xe0 | cp >> 12);
				in[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			}
			in[n++] = (char)(0x80 | (cp & 0x3f));
			in[n++] = ' ';
		}
		const char *got = feed(in, n, 0, n);
		const char *bad = unsafe(got);
		EXPECT(!bad, "U+%04x..: unsafe text at \"%.12s\"", lo, bad);
	}
	return 1;
}

static int a_long_line_is_cut_between_characters(void)
{
	static char in[2048], want[2048];
	memset(in, 'a', 1023);
	strcpy(in + 1023, "\xc3\xa9\n");
	snprintf(want, sizeof(want), "[c] %.1023s\n[c] \xc3\xa9\n", in);
	const char *got = whole(in);
	EXPECT(!strcmp(got, want), "expected the line cut before the character, got \"%s\"", got);
	/* an escape is not cut either */
	memset(in, 'a', 1022);
	strcpy(in + 1022, "\x9b\n");
	snprintf(want, sizeof(want), "[c] %.1022s\n[c] \\x9b\n", in);
	got = whole(in);
	EXPECT(!strcmp(got, want), "expected the line cut before the escape, got \"%s\"", got);
	return 1;
}

int main(void)
{
	RUN(valid_text_passes_unchanged);
	RUN(c0_controls_and_del_are_escaped);
	RUN(c1_controls_are_escaped_raw_and_encoded);
	RUN(bidi_controls_are_escaped);
	RUN(invalid_utf8_is_escaped_byte_by_byte);
	RUN(a_character_cut_by_the_end_is_escaped_at_flush);
	RUN(every_cut_into_writes_gives_the_same_output);
	RUN(no_byte_or_character_passes_unsafe);
	RUN(a_long_line_is_cut_between_characters);
	return check_summary();
}
