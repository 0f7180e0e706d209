/*
 * The seed's cap_file app, as a libc program in program mode: cap file
 * 'test1' is the file /cap/test1 (README "Sharing between cVMs").  It
 * reads it, writes "cap filler\n" (with its NUL: 12 bytes) at its start
 * and reads that back, with plain open, read, write and lseek.
 *
 * With an argument it does one of the cross-cVM checks of the tests
 * (tests/cases/sharing.sh) instead:
 *   map KEY TEXT   mmap(MAP_SHARED) /cap/KEY, write TEXT at its start
 *                  through the mapping, print its size from fstat
 *   read KEY       print what /cap/KEY holds (up to its first NUL)
 *   open KEY       print whether /cap/KEY can be opened (errno otherwise)
 *   truncate KEY   try ftruncate, O_TRUNC and truncate on /cap/KEY
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int seed(void)
{
	char buf[64] = {0};
	int fd = open("/cap/test1", O_RDWR);
	if (fd < 0) {
		printf("cannot open /cap/test1: %s\n", strerror(errno));
		return 1;
	}
	printf("device is open: /cap/test1\n");
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	printf("read %zd bytes ('%s') from cap_file with key 'test1'\n", n, buf);
	const char msg[] = "cap filler\n";
	printf("let's write '%s' into cap_file and read result back\n", msg);
	lseek(fd, 0, SEEK_SET);
	n = write(fd, msg, sizeof(msg));
	printf("wrote %zd bytes\n", n);
	memset(buf, 0, sizeof(buf));
	lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, sizeof(msg));
	printf("read %zd bytes ('%s') from cap_file with key 'test1'\n", n, buf);
	close(fd);
	return n == (ssize_t)sizeof(msg) && !strcmp(buf, msg) ? 0 : 1;
}

static int path_of(char *path, size_t len, const char *key)
{
	return snprintf(path, len, "/cap/%s", key) >= (int)len;
}

static int map(const char *key, const char *text)
{
	char path[128];
	struct stat st;
	if (path_of(path, sizeof(path), key))
		return 2;
	int fd = open(path, O_RDWR);
	if (fd < 0 || fstat(fd, &st)) {
		printf("map %s: %s\n", key, strerror(errno));
		return 1;
	}
	char *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		printf("map %s: mmap: %s\n", key, strerror(errno));
		return 1;
	}
	memcpy(p, text, strlen(text) + 1);
	printf("map %s: %lld bytes, a regular file: %d, wrote '%s'\n", key, (long long)st.st_size,
	       S_ISREG(st.st_mode), text);
	return 0;
}

static int show(const char *key)
{
	char path[128], buf[256] = {0};
	if (path_of(path, sizeof(path), key))
		return 2;
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		printf("read %s: %s\n", key, strerror(errno));
		return 1;
	}
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	printf("read %s: %zd bytes: '%s'\n", key, n, buf);
	return 0;
}

static int can_open(const char *key)
{
	char path[128];
	if (path_of(path, sizeof(path), key))
		return 2;
	int fd = open(path, O_RDWR);
	printf("open %s: %s\n", key, fd >= 0 ? "ok" : strerror(errno));
	return 0;
}

static int shrink(const char *key)
{
	char path[128];
	struct stat st;
	if (path_of(path, sizeof(path), key))
		return 2;
	int fd = open(path, O_RDWR);
	int a = fd >= 0 && ftruncate(fd, 0) == 0;
	int ea = errno;
	int t = open(path, O_RDWR | O_TRUNC);
	int eb = errno;
	int c = truncate(path, 1);
	int ec = errno;
	int size = fd >= 0 && fstat(fd, &st) == 0 ? (int)st.st_size : -1;
	printf("truncate %s: ftruncate %s, O_TRUNC %s, truncate %s, size %d\n", key,
	       a ? "worked" : strerror(ea), t >= 0 ? "worked" : strerror(eb),
	       c == 0 ? "worked" : strerror(ec), size);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return seed();
	if (!strcmp(argv[1], "map") && argc == 4)
		return map(argv[2], argv[3]);
	if (!strcmp(argv[1], "read") && argc == 3)
		return show(argv[2]);
	if (!strcmp(argv[1], "open") && argc == 3)
		return can_open(argv[2]);
	if (!strcmp(argv[1], "truncate") && argc == 3)
		return shrink(argv[2]);
	fprintf(stderr, "usage: cap_file [map KEY TEXT | read KEY | open KEY | truncate KEY]\n");
	return 2;
}
