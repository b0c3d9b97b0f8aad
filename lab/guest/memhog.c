/*
 * memhog - userspace allocator for the lab's "oom" scenario: touches memory page by page
 * until the kernel runs out (with vm.panic_on_oom=1 that panics the guest). Built static.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
	const size_t chunk = 4u << 20;
	size_t total = 0;

	for (;;) {
		char *p = malloc(chunk);

		if (!p) {
			fprintf(stderr, "memhog: malloc failed after %zu MiB\n", total >> 20);
			return 1;
		}
		memset(p, 0x5a, chunk);
		total += chunk;
		if ((total & ((64u << 20) - 1)) == 0)
			fprintf(stderr, "memhog: %zu MiB\n", total >> 20);
	}
}
