/*
 * vmcopy - copies /proc/vmcore to stdout byte for byte, like cat, but through mmap: read()
 * ioremaps every old-memory page and is ~100x slower under QEMU TCG. Falls back to read()
 * where mmap is refused. Built static for the lab's capture kernel.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_all(const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(1, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/proc/vmcore";
	const size_t window = 4u << 20;
	static char buf[1u << 20];
	struct stat st;
	off_t off = 0;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) < 0) {
		perror(path);
		return 1;
	}
	while (off < st.st_size) {
		size_t n = (size_t)(st.st_size - off) < window ? (size_t)(st.st_size - off) : window;
		void *m = mmap(NULL, n, PROT_READ, MAP_SHARED, fd, off);

		if (m != MAP_FAILED) {
			if (write_all(m, n) < 0) {
				perror("write");
				return 1;
			}
			munmap(m, n);
		} else {
			ssize_t r = pread(fd, buf, n < sizeof(buf) ? n : sizeof(buf), off);

			if (r <= 0) {
				perror("read");
				return 1;
			}
			n = (size_t)r;
			if (write_all(buf, n) < 0) {
				perror("write");
				return 1;
			}
		}
		off += (off_t)n;
	}
	return 0;
}
