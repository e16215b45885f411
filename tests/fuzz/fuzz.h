/*
 * fuzz.h - what every harness in tests/fuzz/ shares. Each harness defines
 * LLVMFuzzerTestOneInput; built with clang -fsanitize=fuzzer it is a libFuzzer
 * target (tools/fuzz.sh), built with replay.c it re-runs a corpus folder as a
 * regression test under the ordinary build and its sanitizers (ctest).
 */
#ifndef ROSTER_FUZZ_H
#define ROSTER_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property the code promises was broken: report it and crash, so the fuzzer
 * keeps the input. */
#define FUZZ_ASSERT(cond)                                                                          \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: broken promise: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif
