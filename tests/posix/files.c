/* An unmodified libc program in a cVM: argv, stdio, malloc, files in its
 * root, exit status.  Its args name what to do. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int main(int argc, char **argv)
{
	printf("posix: argc=%d argv[0]=%s\n", argc, argv[0]);
	char *heap = malloc(8 << 20);
	if (!heap)
		return 10;
	memset(heap, 7, 8 << 20);
	printf("posix: malloc'd and touched 8 MiB\n");

	FILE *f = fopen("/data.txt", "r");
	char line[64] = "";
	if (!f || !fgets(line, sizeof(line), f))
		printf("posix: cannot read /data.txt\n");
	else
		printf("posix: /data.txt says %s", line);
	if (f)
		fclose(f);
	struct stat st;
	printf("posix: stat /data.txt: %s\n", stat("/data.txt", &st) == 0 ? "ok" : "failed");
	FILE *w = fopen("/out/new.txt", "w");
	printf("posix: write a new file: %s\n",
	       w && fputs("written\n", w) >= 0 && fclose(w) == 0 ? "ok" : "failed");
	printf("posix: fopen /etc/passwd: %s\n", fopen("/etc/passwd", "r") ? "OPENED" : "refused");
	fflush(stdout);
	return argc > 1 ? atoi(argv[1]) : 0;
}
