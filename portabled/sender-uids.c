/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "sender-uids.h"
#include "siphash.h"

/* More than the connections a system bus allows at once (dbus-daemon: 2048 completed, 256 per
 * user), as a power of two; a slot holds names up to the longest ":<n>.<n>" with 32-bit numbers. */
#define SLOTS 4096U
#define NAME_MAX_LENGTH 23U

typedef struct Slot {
        char name[NAME_MAX_LENGTH + 1]; /* "" if free */
        uid_t uid;
} Slot;

struct SenderUids {
        uint8_t key[SIPHASH_KEY_SIZE]; /* so that nobody can line up names on one slot */
        Slot slots[SLOTS];
};

SenderUids *sender_uids_new(void) {
        SenderUids *c = calloc(1, sizeof(SenderUids));

        if (c && getrandom(c->key, sizeof(c->key), 0) != sizeof(c->key)) {
                free(c);
                return NULL;
        }
        return c;
}

SenderUids *sender_uids_free(SenderUids *c) {
        free(c);
        return NULL;
}

static Slot *slot_of(const SenderUids *c, const char *name) {
        return (Slot *) &c->slots[siphash24(name, strlen(name), c->key) % SLOTS];
}

bool sender_uids_get(const SenderUids *c, const char *name, uid_t *ret) {
        const Slot *s;

        if (!name || strlen(name) > NAME_MAX_LENGTH)
                return false;
        s = slot_of(c, name);
        if (strcmp(s->name, name) != 0 || !name[0])
                return false;
        *ret = s->uid;
        return true;
}

void sender_uids_put(SenderUids *c, const char *name, uid_t uid) {
        Slot *s;

        if (!name || !name[0] || strlen(name) > NAME_MAX_LENGTH)
                return;
        s = slot_of(c, name);
        strcpy(s->name, name);
        s->uid = uid;
}
