/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* A stand-in for portabled/operation.c, linked into fuzz-bus-method instead of it: the method
 * handlers run as in the daemon, but the operation they start is checked against the contract of
 * operation_start_stack() (operation.h) and dropped instead of run. No reader is forked, PID 1 is
 * never asked, the host is never changed. Each operation that would have started is answered with
 * the error FAKE_OPERATION_STARTED, so that the caller can tell it from every other answer. */

#define FAKE_OPERATION_STARTED "org.freedesktop.portable1.Fuzz.OperationStarted"

typedef struct FakeOperations {
        unsigned attempted;    /* operations handed over since the last reset */
        unsigned started;      /* of them, accepted */
        const char *type_name; /* the last one's OperationType.name */
        bool fail;             /* refuse the next ones as a failing start would (-EIO) */
} FakeOperations;

extern FakeOperations fake_operations;
